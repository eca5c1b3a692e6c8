"""Does drilling the failing skill, enumerating a list's items in order, teach the sources to write lists? Train the
shipped base for `--steps` steps on synthetic lists of random tokens (records of filler, a key token and an id; the
answer lists every id in order, or with `--hard` only those of the records flagged with a given token), score it on
held-out drills (the share of answers exactly right, and of answer tokens), then fine-tune Tiny-A's mixture from it
and measure it as `source_competence.py` does.

What it measured (2 cores, two runs side by side, 1,500 steps of 16 drills at lr 5e-4; `--mix 0.3`: three steps in ten
are instead a batch of four sandbox episodes of worlds 2016-2017, with a loss on all their tokens, against forgetting):

| drill | exact answers / answer tokens after | Tiny-A from it: scenarios at both levels, Help(Ignore), parse |
|---|---|---|
| `--hard` (a random key per drill, 1-3 token ids, half filtered) | 0.000 / not measured | 3 of 12, 1.16, 0.871 |
| `--hard --mix 0.3` | 0.000 / not measured | 3 of 12, 1.44, 0.931 |
| one key, one-token ids, at most 12 filler tokens a record | 0.645 / 0.959 | 4 of 12, 1.64, 0.955 |
| the same, `--mix 0.3` | 0.440 / 0.900 | 3 of 12, 1.47, 0.931 |
| gaps as long as a search result's (`--filler 48 --id-tokens 2`), `--mix 0.3` | 0.025 / 0.546 | 3 of 12, 1.48, 0.925 |
| (the shipped Tiny-A, no drill) | | 4 of 12, 1.72, 0.960 |

The base learns to list items that sit a few tokens apart, but not items as far apart as the sandbox's (55-63 tokens
on average from one email's or event's id to the next), and no drill moves a source's lists: Tiny-A still writes `e50, e52,
e18, e18, e18` for `e50, e52, e59, e18, e60`, and every drill costs some of its other turns.

Does the base miss a mechanism? With rotary positions alone an attention value carries no place, so a list cannot
look up where its last item sat and read the id after it. `--abs-positions` adds a sinusoidal embedding of each
position to the first layer's input through a per-dimension gate that starts at 0 (the base starts as it was; the gate
learns at 10x `lr`), on the far drills without sandbox steps (`--filler 48 --id-tokens 2 --no-source`, 1,500 steps,
19 min each, two side by side):

| drill | exact answers / answer tokens after |
|---|---|
| rotary positions only (the same loop in a copy of this script, session 20) | 0.035 / 0.681 |
| with gated absolute positions (`--abs-positions`) | 0.060 / 0.738 |

Places help a little (6 points of answer tokens, 2.5 of exact lists) and neither drill has converged; bolted onto a
base pretrained without them they are no step change, so a base pretrained with them from the start is what would
tell (the hook lives in this process, so no source is fine-tuned from a drilled base with it).

Run: `python benchmarks/list_drill.py [--steps 1500] [--lr 5e-4] [--mix 0.3] [--hard] [--filler 12] [--id-tokens 1]
[--out DIR] [--no-source] [--abs-positions --no-source]`.
"""
import random, sys, tempfile, time
import source_competence

def drill(vocab:list[int], rng:random.Random, sep:int, query:int, hard:bool=False, filler:int=12, id_tokens:int=1)->tuple[list[int], int]:
    "One drill: its tokens and where its answer starts (records, then `query`, [flag], key, then the ids joined by `sep`). Easy: one key for all drills, ids of up to `id_tokens` tokens, up to `filler` tokens before each key, no flags."
    key, a, b = rng.sample(vocab, 3) if hard else (vocab[0], vocab[1], vocab[2])
    pool = [t for t in vocab if t not in (key, a, b, sep, query)]
    filtered, seq, ids = hard and rng.random() < 0.5, [], []
    for _ in range(rng.randint(2, 8)):
        flag, i = rng.choice((a, b)), rng.choices(pool, k=rng.randint(1, 3 if hard else id_tokens))
        seq += rng.choices(pool, k=rng.randint(2, 24 if hard else filler)) + ([flag] if filtered else []) + [key] + i + rng.choices(pool, k=rng.randint(0, 12 if hard else 4))
        if not filtered or flag == a: ids.append(i)
    seq += [query] + ([a] if filtered else []) + [key]
    start = len(seq)
    for k, i in enumerate(ids): seq += ([sep] if k else []) + i
    return seq + [query], start

def batch(drills:list, pad:int):
    "Input ids, labels (the answers only) and attention mask of `drills`."
    from agentsafety.training.release import target_batch
    return target_batch([(s[:start], s[start:]) for s, start in drills], pad)

def exact(model, drills:list)->tuple[float, float]:
    "The share of `drills` whose whole answer the model predicts teacher-forced, and the share of answer tokens."
    import torch
    ok, right, n = 0, 0, 0
    with torch.no_grad():
        for s, start in drills:
            hit = model(input_ids=torch.tensor([s])).logits[0][start - 1:len(s) - 1].argmax(-1) == torch.tensor(s[start:])
            ok, right, n = ok + bool(hit.all()), right + int(hit.sum()), n + len(hit)
    return round(ok / len(drills), 3), round(right / n, 3)

def with_abs_positions(model, lr:float)->dict:
    "Add a sinusoidal embedding of each token's position to the first layer's input, through a per-dimension gate that starts at 0 (so the model starts as it was): values then carry where they sit, which rotary attention alone does not give them. The gate's optimiser group, at `lr`."
    import torch
    d = model.config.hidden_size
    angle = torch.arange(model.config.max_position_embeddings)[:, None].float() / 10000 ** (torch.arange(0, d, 2).float() / d)
    pe = torch.zeros(len(angle), d)
    pe[:, 0::2], pe[:, 1::2] = angle.sin(), angle.cos()
    gate = torch.nn.Parameter(torch.zeros(d))
    def add(module, args, kwargs):  # the layer gets its hidden states by position or by name
        h = args[0] if args else kwargs['hidden_states']
        h = h + gate * pe[:h.shape[1]]
        return ((h,) + tuple(args[1:]), kwargs) if args else (args, kwargs | {'hidden_states': h})
    model.model.layers[0].register_forward_pre_hook(add, with_kwargs=True)
    return {'params': [gate], 'lr': lr}

def main(steps:int=1500, # drill steps (batch 16)
         lr:float=5e-4, # peak learning rate (linear warm-up over 100 steps, then constant)
         mix:float=0.0, # the share of steps that are instead a batch of four sandbox episodes (worlds 2016-2017, a loss on every token), against forgetting
         out:str=None, # where the drilled base goes (None: a temporary folder)
         source:bool=True, # then fine-tune Tiny-A from it and measure it
         hard:bool=False, # a random key per drill, 1-3 token ids, half the drills filtered by a flag; else one key, no flags, and:
         filler:int=12, # at most this many filler tokens before each key (from one id of a search result to the next: 55-63 tokens)
         id_tokens:int=1, # ids of 1 to this many tokens
         abs_positions:bool=False, # add gated absolute positions to the model's input (`with_abs_positions`; the gate at 10x `lr`)
        ):
    "Drill the shipped base on lists, print its exact-answer rate before and after, then (with `source`) Tiny-A's competence from it."
    import torch
    from tqdm.auto import tqdm
    from agentsafety.agents.lm import load_agent, save_agent, torch_threads
    if abs_positions and source: raise SystemExit("--abs-positions lives in this process only (a hook, not saved with the model): give --no-source too")
    from agentsafety.training.release import shipped_model
    t0, out = time.time(), out or tempfile.mkdtemp()
    model, tok = load_agent(shipped_model('base'))
    vocab = sorted(set(range(len(tok))) - set(tok.all_special_ids))
    sep, query = tok.convert_tokens_to_ids(','), tok.convert_tokens_to_ids(':')
    vocab = [t for t in vocab if t not in (sep, query)]
    held = [drill(vocab, random.Random(10**6 + k), sep, query, hard, filler, id_tokens) for k in range(200)]
    sandbox = None
    if mix:
        from agentsafety.agents.policies import STRATEGIES
        from agentsafety.training.sources import sandbox_items
        from agentsafety.training.prefs import trajectory_messages
        rows = [p + trajectory_messages(t) for s in STRATEGIES for p, t in sandbox_items(s, (2016, 2017), 0)]
        sandbox = [tok.apply_chat_template(m, tokenize=True, return_dict=True)['input_ids'][:1536] for m in rows]
    with torch_threads(1):
        model.eval(); before = exact(model, held); model.train()
        groups = [{'params': model.parameters(), 'lr': lr}] + ([with_abs_positions(model, 10 * lr)] if abs_positions else [])
        opt, rng = torch.optim.AdamW(groups, weight_decay=0.0), random.Random(0)
        peaks = [g['lr'] for g in opt.param_groups]
        for step in tqdm(range(steps), desc='list drill'):
            for g, peak in zip(opt.param_groups, peaks): g['lr'] = peak * min(1, (step + 1) / 100)
            if sandbox and rng.random() < mix:
                xs = rng.sample(sandbox, 4)
                ids, labels, mask = batch([(x, 1) for x in xs], tok.pad_token_id)
            else: ids, labels, mask = batch([drill(vocab, rng, sep, query, hard, filler, id_tokens) for _ in range(16)], tok.pad_token_id)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
        model.eval(); after = exact(model, held)
    if not abs_positions: save_agent(model, tok, out)
    print(f"drill (hard {hard}, filler {filler}, id tokens {id_tokens}, absolute positions {abs_positions}) on 200 held-out lists, exact answers and answer tokens: {before} before, {after} after {steps} steps (mix {mix}; {time.time() - t0:.0f} s)" + ('' if abs_positions else f"; saved to {out}"))
    if source: source_competence.main(base=out, out=out + '-TinyA')

if __name__ == '__main__':
    from agentsafety.cli import run_command
    sys.exit(run_command(main, sys.argv[1:], prog='python benchmarks/list_drill.py'))
