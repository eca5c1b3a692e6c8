"""What a source's mixture does to the study: fine-tune sources of any mixture from the shipped base
(`sources_from='train'`, the release's fine-tuning settings), train S and H on their own episodes' pairs at one β on one
split with the `full` preset's other settings, and print each trained agent's ΔSafety and ΔHelp(Ignore) against its
source on the split's test cases, and per scenario each source's competence (`summary.json`'s `by_scenario` on all 144
cases: Safety, Help(Ignore) against the policy's, the share completed, turns parsed; `ok` where both of issue 12's
levels are met: 80% of the policy's Help(Ignore) and 97% of turns parsed).

What it measured (2 cores, split 0, β 0.1; a run takes about 4 minutes on idle cores, 6 beside another job):

| sources (policy, seed) | S: ΔSafety, ΔHelp | H: ΔSafety, ΔHelp | scenarios at both levels |
|---|---|---|---|
| shipped: Tiny-A `mix:reckless=2,cautious=1,careful=1,by=scenario,lean=0.5`, 0 | +0.82, −1.10 | −0.08, +0.14 | 4 of 12 |
| shipped: Tiny-B `mix:reckless=2,cautious=2,careful=1,by=scenario,lean=0.5`, 2 | +0.58, −0.88 | −0.21, +0.14 | 6 of 12 |
| the same mixtures without lean (one strategy per scenario): Tiny-A, seed 0 | +0.15, −0.28 | −0.39, +0.31 | 3 of 12 |
| the same: Tiny-B, seed 2 | +0.10, −0.25 | −0.19, +0.33 | 3 of 12 |
| by wording (`by=variant,lean=0.5`), from the shift-6 base with the list warm-up (`--base`, `base_scale.py --shift 6 --list-warmup 1000 --steps 5000`): Tiny-A, seed 0 | +0.60, −1.06 | −0.15, +0.01 | 5 of 12 |
| the same: Tiny-B, seed 2 | +0.36, −0.47 | −0.25, +0.28 | 7 of 12 |

Without lean, greedy decoding would play each scenario's planned strategy, so a planned-`cautious` scenario could meet
the 80% level, which a leaning mixture's cannot (its other draws act, and act for about 3 of Help(Ignore) where asking
gets about 0.5). Measured, it does not pay: the plans' reckless multi-step scenarios (`rent_payment`,
`invoice_payments`, `forward_email` for Tiny-A) fail in execution, so their Safety stays near 3 and S has little harm
to remove; the sources follow a `cautious` plan only in part. The pairs were as many as the shipped sources' (Tiny-A
336 safe, 254 help; shipped 383, 333).

By wording (`by=variant`: the lean shares out each scenario's three instruction variants, and the cautious script's
refuse-or-look coin goes by variant, so what the source reads decides every choice), the sources follow their `cautious`
plans (every planned-`cautious` scenario meets the 80% level but three of Tiny-B's, `fix_permissions`, `email_cleanup` and
`forward_email`, where the source does not pick up the one wording that acts) and fail where execution fails, as before. S removes less harm from Tiny-B
(+0.36: its plan puts `reckless` where execution fails) and H adds no help to Tiny-A: not the shipped design (16 min beside two base builds).
Those two rows were measured when a `by=variant` mixture's plan was keyed on its whole name, so their plans are not the
shipped ones; since session 19 a `by=variant` mixture plays its `by=scenario` twin's plan (`Policy.scenario_plan`).

Run: `python benchmarks/source_mixtures.py --out DIR --sources 'Tiny-A=mix:reckless=2,cautious=1,careful=1,by=scenario@0'
--sources 'Tiny-B=...@2' [--base DIR]` (`--sources` repeatable; by default the shipped ones; a source name has no `_`); a second run
into the same `--out` reuses the stages it shares with the first.
"""
import json, sys, time
from pathlib import Path
from source_competence import meets_levels

def show(out:Path):
    "Print the points and the per-scenario competence of the study in `out`."
    s = json.loads((out/'summary.json').read_text())
    for p in s['points']: print(f"{p['source']} {p['schedule']} β {p['beta']}: ΔSafety {p['delta_safety']:+.2f}, ΔHelp(Ignore) {p['delta_help']:+.2f}")
    met = {}
    for r in s.get('by_scenario', []):
        ok = meets_levels(r['help'], r['policy_help'], r['parse_rate'])
        met[r['source']] = met.get(r['source'], 0) + ok
        print(f"  {r['source']:8s} {r['scenario']:18s} Safety {r['safety']:.2f}  help {r['help']:.2f} of the policy's {r['policy_help']:.2f}"
              f"  completed {r['completed']:.2f}  parse {r['parse_rate']:.2f} {'ok' if ok else ''}")
    for k, v in met.items(): print(f"{k}: both levels in {v} of {sum(r['source'] == k for r in s['by_scenario'])} scenarios")

def main(out:str='/tmp/source-mixtures', # the study folder (its stages are cached)
         sources:list[str]=None, # NAME=POLICY@SEED, e.g. `Tiny-A=mix:reckless=2,cautious=1,careful=1,by=scenario@0` (None: the shipped sources)
         beta:float=0.1, # the DPO β
         seed:int=0, # the split seed
         base:str=None, # the base the sources are fine-tuned from (None: the shipped one)
        ):
    "Fine-tune `sources` from the shipped base (or `base`), train S and H at `beta` on split `seed`, print ΔSafety, ΔHelp and each source's competence per scenario."
    from agentsafety.study.config import study_config
    from agentsafety.study.runner import Study
    from agentsafety.training.release import SHIPPED_SOURCES
    from agentsafety.training.sources import SourceSpec
    def spec(text):
        name, _, rest = text.partition('=')
        policy, _, n = rest.rpartition('@')
        if not (name and policy and n.isdigit()): raise ValueError(f"--sources {text!r}: expected NAME=POLICY@SEED")
        return SourceSpec(name, policy, int(n))
    srcs = [spec(s) for s in sources] if sources else list(SHIPPED_SOURCES)
    out, t = Path(out), time.time()
    cfg = study_config('full', sources=srcs, sources_from='train', seeds=[seed], betas=[beta], schedules=['S', 'H'], bootstrap=20, source_base=base)
    Study(cfg, out, progress=False).run()
    print(f"{time.time() - t:.0f} s")
    show(out)

if __name__ == '__main__':
    from agentsafety.cli import run_command
    sys.exit(run_command(main, sys.argv[1:], prog='python benchmarks/source_mixtures.py'))
