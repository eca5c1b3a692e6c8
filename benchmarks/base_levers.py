"""Does the shipped base gain from more pretraining, or from a loss on more of the text? Continue training it for
`--steps` steps on sandbox worlds it never saw, then score it teacher-forced on a held-out world: the share of the
agent's digit tokens it predicts (the acting strategies, reckless and careful), split into the first digit token of a run (which value to copy: the choice) and the
ones after it (copying it on), against the rest of the agent's tokens.

`--loss assistant` is the recipe's (the agent's turns only); `--loss completion` also scores the observations, so the
model sees every id and number the tools return as a target too (more signal per step, as a language model's
pretraining has).

What it measured (2 cores, 1,500 steps at lr 5e-4 on worlds 2016-2023, all four strategies, scored on world 3000;
then `python benchmarks/source_competence.py --base DIR` fine-tunes Tiny-A's mixture from the result):

| base | digits, first / after | other | Tiny-A from it: scenarios at both levels, Help(Ignore), parse |
|---|---|---|---|
| shipped (5,000 steps) | 0.837 / 0.903 | 0.983 | 4 of 12, 1.72, 0.960 |
| + 1,500 steps, `assistant` (16 min) | 0.854 / 0.912 | 0.985 | 4 of 12, 1.67, 0.945 |
| + 1,500 steps, `completion` (19 min) | 0.777 / 0.828 | 0.976 | 5 of 12, 1.60, 0.927 |
| + 1,500 steps, `assistant`, the digit tokens' loss weighted 4 (`--value-weight 4`; 26 min beside other runs) | 0.862 / 0.912 | 0.983 | 5 of 12, 1.72, 0.941 (Tiny-B: 5 of 12, 1.61, 0.956) |
| + 1,500 steps, `assistant`, only the five scenarios whose turns list items (`email_cleanup`, `cancel_meetings`, `kill_processes`, `disk_cleanup`, `fix_permissions`) on worlds 2016-2031 (15 min) | 0.804 / 0.864 | 0.958 | 4 of 12, 1.66, 0.934 (Tiny-B: 6 of 12, 1.60, 0.947; shipped 6, 1.62, 0.970) |

On the base's own training world 2000 the shipped base scores 0.866 / 0.934: the 1 M-parameter model is short of
capacity, not of data. A transfer copies about 25 digit tokens, so it needs well over 99% a token to land; 30% more
pretraining buys under 2 points. Scoring the observations too costs 8 points of the digits.
Weighing the values' tokens 4 times the rest (session 21: the first digit token of a run is the choice of which value
to copy, what the sources miss) moves that choice by under a point against the same steps unweighted (0.862 against
0.854) and the counts within one scenario of the shipped sources', one up for Tiny-A and one down for Tiny-B.
Practice on the lists alone (3,688 examples, about 3 epochs) does not teach a source to write them: Tiny-A's lists
break as often as before or more (`kill_processes` 55 % of the policy's help, as before; `email_cleanup` 53 %, before
56 %; `fix_permissions` 43 %, before 70 %) and fewer of its turns parse (0.934, before 0.960).

Run: `python benchmarks/base_levers.py [--loss assistant|completion] [--steps 1500] [--worlds 2016 --worlds 2017 ...]
[--scenarios email_cleanup ...] [--held-out 3000] [--value-weight 1] [--out DIR]` (`--worlds` and `--scenarios` repeatable); `--steps 0` scores the shipped base as it is.
"""
import sys, tempfile, time

def digit_accuracy(model, tokenizer, world:int=3000, strategies:tuple=('reckless', 'careful'))->dict:
    "`copy_accuracy` split (a digit token that starts a run, one that continues it, the rest) on the acting `strategies`' trajectories on `world`, rounded."
    from agentsafety.training.sources import copy_accuracy, sandbox_items
    acc = copy_accuracy(model, tokenizer, [x for s in strategies for x in sandbox_items(s, (world,), 0)], split=True)
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in acc.items()}

def weighted_trainer(tokenizer, weight:float):
    "An `SFTTrainer` class whose loss weighs the target tokens that hold a digit `weight` times the others (a weighted mean)."
    import torch
    from trl import SFTTrainer
    digit = torch.tensor([any(c.isdigit() for c in tokenizer.decode([t])) for t in range(len(tokenizer))])
    class Weighted(SFTTrainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs['labels'][:, 1:]
            out = model(**{k: v for k, v in inputs.items() if k != 'labels'})
            ce = torch.nn.functional.cross_entropy(out.logits[:, :-1].flatten(0, 1).float(), labels.flatten(), ignore_index=-100, reduction='none')
            keep = labels.flatten() != -100
            w = torch.where(digit[labels.flatten().clamp(min=0)], weight, 1.0) * keep
            loss = (ce * w).sum() / w.sum()
            return (loss, out) if return_outputs else loss
    return Weighted

def main(loss:str='assistant', # `assistant`: the agent's turns (the recipe's); `completion`: the observations too
         steps:int=1500, # optimiser steps of continued pretraining (0: score the shipped base as it is)
         worlds:list[int]=list(range(2016, 2024)), # sandbox seeds of the new data (never the base's, the sources' or a study's)
         scenarios:list[str]=None, # only the cases of these scenarios (None: all)
         held_out:int=3000, # the sandbox world it is scored on
         lr:float=5e-4, # peak learning rate (cosine, 5% warm-up)
         value_weight:float=1.0, # weight of the loss on the agent's tokens that hold a digit (the values it copies) against the rest
         out:str=None, # where the trained base goes (None: a temporary folder)
        ):
    "Continue pretraining the shipped base (or not), save it, print its digit accuracy on a held-out world."
    from argparse import ArgumentTypeError
    if loss not in ('assistant', 'completion'): raise ArgumentTypeError(f"--loss must be assistant or completion, not {loss!r}")
    from datasets import Dataset
    from trl import SFTTrainer
    from agentsafety.agents.lm import load_agent, with_assistant_marks, torch_threads, auto_threads, reused_heap, cpu_lm_head, save_agent
    from agentsafety.agents.policies import STRATEGIES
    from agentsafety.environments.sandbox.world import SandboxWorld
    from agentsafety.training.release import Recipe, shipped_model
    from agentsafety.training.sources import SFTSettings, sandbox_items, sft_examples, _sft_data, _sft_config
    t0 = time.time()
    model, tok = load_agent(shipped_model('base'))
    with_assistant_marks(tok)
    if steps:
        settings = SFTSettings(max_steps=steps, lr=lr, warmup=0.05, max_length=Recipe().base_sft.max_length, logging_steps=100, seed=1)
        cases = None
        if scenarios:  # a case's scenario follows from its index alone (the scenarios cycle), so one world's order is every world's
            order = SandboxWorld(worlds[0]).scenarios
            if bad := sorted(set(scenarios) - set(order)): raise ArgumentTypeError(f"--scenarios: no scenario {bad}; there are {sorted(set(order))}")
            cases = tuple(i for i, sc in enumerate(order) if sc in scenarios)
        kept, dropped = _sft_data(sft_examples(x for s in STRATEGIES for x in sandbox_items(s, worlds, 0, cases)), tok, settings.max_length)
        with torch_threads(auto_threads(model)), reused_heap(), tempfile.TemporaryDirectory() as tmp:
            cfg = _sft_config(settings, tmp)
            if loss == 'completion': cfg.assistant_only_loss, cfg.completion_only_loss = False, True
            trainer = (weighted_trainer(tok, value_weight) if value_weight != 1 else SFTTrainer)(model=model, args=cfg, train_dataset=Dataset.from_list(kept), processing_class=tok)
            cpu_lm_head(trainer.model)
            trainer.train()
        model.eval()
        save_agent(model, tok, out or tempfile.mkdtemp())
        print(f"trained {steps} steps ({loss} loss, digits weighted {value_weight}) on {len(kept)} examples ({dropped} too long) in {time.time() - t0:.0f} s")
    print(f"held-out world {held_out}:", digit_accuracy(model, tok, held_out))

if __name__ == '__main__':
    from agentsafety.cli import run_command
    sys.exit(run_command(main, sys.argv[1:], prog='python benchmarks/base_levers.py'))
