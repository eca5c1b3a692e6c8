"""Unlikelihood against repeats: a source fine-tuned with an extra loss on the token that followed the same token
earlier in the same turn (where the turn goes on differently), then measured per scenario as `source_competence.py` does.

Why: a source that breaks a list repeats or skips an item (`e50, e52, e18, e18, e18` for `e50, e52, e59, e18, e60`):
after `, "e` it writes the digits that followed `"e` before, as a copy keyed on one token would. Unlikelihood training
(Welleck et al. 2019, "Neural text generation with unlikelihood training") pushes down candidates that the model should
not repeat; here a candidate at a position is any token that followed the same previous token earlier in that assistant
turn and is not the token that comes now: exactly the wrong answers of a one-token-keyed copy.

What it measured (2 cores, about 1.5 minutes a run; Tiny-A's mixture and seed, fine-tuned from the shipped base with the
release's settings; `--alpha 0` runs the same code without the term and reproduces the shipped Tiny-A exactly):

| α | Safety | Help(Ignore) | parse | scenarios at both levels | `email_cleanup` help (of the policy's 2.83) |
|---|---|---|---|---|---|
| 0 (the shipped fine-tuning) | 1.86 | 1.72 | 0.960 | 4 of 12 | 1.58 |
| 1 | 1.87 | 1.70 | 0.954 | 4 of 12 | 1.92 |
| 3 | 1.81 | 1.72 | 0.945 | 4 of 12 | 1.75 |

Not a lever: a batch holds about one candidate for every two labelled tokens, and the term lowers a repeat's
teacher-forced probability a little (`e48` written again where `e88` comes, in `email_cleanup`: 0.65 to 0.48 at α 1) without raising the right
item's, so the mass moves to other wrong items; fewer turns parse in `kill_processes` (0.97 to 0.92). The term pushes
down what the model should not write, but the model does not fit the lists it should write, not even on the worlds it
trained on (`list_fit.py`): the term has nothing to move the mass to.

Run: `python benchmarks/unlikelihood.py [--alpha 1.0] [--policy SPEC --seed N] [--out DIR]` (2 cores, about 2 minutes).
"""
import sys

def repeat_candidates(ids:list[int], labelled:list[bool])->list[tuple[int, int]]:
    "`(position, token)`: at each labelled position t, each token that followed `ids[t-1]` earlier in the same labelled run and differs from `ids[t]`."
    out, seen = [], {}
    for t in range(1, len(ids)):
        if not labelled[t]:
            seen = {}; continue  # a new assistant turn starts afresh
        prev = ids[t - 1]
        out += [(t, k) for k in seen.get(prev, ()) if k != ids[t]]
        seen.setdefault(prev, set()).add(ids[t])
    return out

assert repeat_candidates([5, 1, 7, 1, 8, 1, 7], [False] + [True] * 6) == [(4, 7), (6, 8)]
assert repeat_candidates([1, 7, 0, 1, 8], [True, True, False, True, True]) == []

def with_unlikelihood(alpha:float):
    "Patch the sources' SFT trainer so that its loss adds `alpha` times the mean unlikelihood of `repeat_candidates`."
    import torch
    from agentsafety.training import sources
    make = sources._sft_trainer
    def _sft_trainer(model, tokenizer, kept, settings, output_dir, progress=True):
        trainer = make(model, tokenizer, kept, settings, output_dir, progress)
        decoder, grabbed = trainer.model.get_decoder(), {}
        def grab(module, args, out): grabbed.setdefault('h', out.last_hidden_state)  # the loss's own forward, with its graph
        decoder.register_forward_hook(grab)
        base_loss = trainer.compute_loss
        def compute_loss(model, inputs, return_outputs=False, num_items_in_batch=None):
            grabbed.clear()
            loss = base_loss(model, inputs, num_items_in_batch=num_items_in_batch)
            if not alpha: return loss
            ids, labels = inputs['input_ids'], inputs['labels']
            rows, pos, tok = [], [], []
            for b in range(ids.shape[0]):
                for t, k in repeat_candidates(ids[b].tolist(), (labels[b] != -100).tolist()):
                    rows.append(b); pos.append(t - 1); tok.append(k)  # the hidden state before t predicts t
            if rows:
                h = grabbed['h'][torch.tensor(rows), torch.tensor(pos)]
                p = torch.softmax(model.get_output_embeddings()(h).float(), -1)[torch.arange(len(tok)), torch.tensor(tok)]
                loss = loss + alpha * -torch.log((1 - p).clamp(min=1e-5)).mean()
            return loss
        trainer.compute_loss = compute_loss
        return trainer
    sources._sft_trainer = _sft_trainer

def main(alpha:float=1.0, # weight of the unlikelihood term (0: the plain SFT, through the same code)
         policy:str=None, # the mixture (None: Tiny-A's)
         seed:int=None, # its seed (None: Tiny-A's)
         out:str=None, # where the source goes (None: a temporary folder)
        ):
    "Fine-tune a source from the shipped base with unlikelihood on repeats and print `source_competence`'s table."
    import source_competence as sc
    with_unlikelihood(alpha)
    spec = sc.SHIPPED_SOURCES[0]
    sc.main(policy=policy or spec.policy, seed=spec.seed if seed is None else seed, out=out)

if __name__ == '__main__':
    from agentsafety.cli import run_command
    sys.exit(run_command(main, sys.argv[1:], prog='python benchmarks/unlikelihood.py'))
