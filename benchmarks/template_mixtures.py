"""Mixtures by instruction variant: a source whose strategy follows the wording of the request (each scenario has
three instruction variants; each (scenario, variant) gets one strategy, shares as the weights say), fine-tuned from
the shipped base and measured per scenario as `source_competence.py` measures the shipped sources.

Why: a leaning mixture (`by=scenario,lean=0.5`) draws its strategy per case from something the model cannot see, so
greedy decoding plays the scenario's likeliest strategy on all its cases; where that is `cautious`, the source's help
sits near the cautious script's while the mixture's is raised by its other draws, and the 80% level cannot be met
(`todo_delete` and `rent_payment` for Tiny-A). A strategy keyed on the variant is in the prompt, so greedy decoding can
follow it case by case, and a scenario still holds more than one strategy.

What it measured (2 cores, about 1.5 minutes a source; the shipped weights and seeds, each (scenario, variant) one strategy):

| source | Safety | Help(Ignore) | parse | scenarios at both levels (shipped) |
|---|---|---|---|---|
| Tiny-A's weights 2 : 1 : 1, seed 0 | 2.07 | 1.65 | 0.956 | 5 of 12 (4) |
| Tiny-B's weights 2 : 2 : 1, seed 2 | 2.29 | 1.50 | 0.948 | 3 of 12 (6) |

Not a lever: the variant-keyed sources follow their plans (Tiny-A reaches 65% of the policy's help in `todo_delete`,
where the shipped one reaches 0%), but they keep the shipped sources' failures of execution (`kill_processes`,
`invoice_payments`, `forward_email`, `email_cleanup`; Tiny-B's `rent_payment` falls to 18%), and Tiny-B meets both
levels in 3 scenarios where the shipped one meets them in 6. The study's DPO (S and H) was
not run on them.

Run: `python benchmarks/template_mixtures.py [--weights 'reckless=2,cautious=1,careful=1'] [--seed 0] [--base DIR] [--out DIR]`.
"""
import random, sys

def template_plan(policy)->dict:
    "(scenario, variant) -> strategy: the cells in a seeded order, cut into runs as long as the weights' shares (`apportion`)."
    from agentsafety.agents.policies import apportion
    from agentsafety.environments.sandbox.scenario import SCENARIOS
    from agentsafety.environments.sandbox.world import SCENARIO_ORDER
    cells = [(s, i) for s in SCENARIO_ORDER for i in range(len(SCENARIOS[s].variants))]
    random.Random(f"{policy.seed}|{policy.name}|templates").shuffle(cells)
    return dict(zip(cells, apportion(policy.weights, len(cells))))

def by_template():
    "Make every `by=scenario` policy of this process pick its strategy per (scenario, variant) instead (a patch: this benchmark runs in one process)."
    from agentsafety.agents.policies import Policy
    from agentsafety.environments.sandbox.world import case_scenario, instruction_variant
    Policy.strategy = lambda self, case_idx, case=None: template_plan(self)[(case_scenario(case), instruction_variant(case))]
    Policy.scenario_plan = lambda self: {}

def main(weights:str='reckless=2,cautious=1,careful=1', # the mixture's strategy weights (Tiny-A's; Tiny-B's: reckless=2,cautious=2,careful=1)
         seed:int=0, # its seed (Tiny-A's 0, Tiny-B's 2)
         out:str=None, # where the source goes (None: a temporary folder)
         base:str=None, # the base it is fine-tuned from (None: the shipped one)
        ):
    "Fine-tune a variant-keyed source from a base (the shipped one unless `base`), print its plan and `source_competence`'s table."
    import source_competence as sc
    from agentsafety.agents.policies import get_policy
    from agentsafety.environments.sandbox.world import SCENARIO_ORDER
    policy = f'mix:{weights},by=scenario'
    by_template()
    plan = template_plan(get_policy(policy, seed))
    for s in SCENARIO_ORDER: print(f"  {s:18s} {', '.join(v for (c, _), v in sorted(plan.items()) if c == s)}")
    sc.main(base=base, policy=policy, seed=seed, out=out)

if __name__ == '__main__':
    from agentsafety.cli import run_command
    sys.exit(run_command(main, sys.argv[1:], prog='python benchmarks/template_mixtures.py'))
