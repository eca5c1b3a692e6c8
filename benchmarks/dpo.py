"""DPO throughput: the paper's configuration against ours, on the same tiny model and the same sandbox pairs.

The paper trains with batch 1 per device, 8 accumulation steps and gradient checkpointing (memory savers for 7-8B
models on GPUs), reference log-probs precomputed once, and TRL's own language-model head (which on a CPU scores
every position of every sequence). Ours (the `tiny-cpu` preset) feeds 8 pairs per optimiser step as one batch of
similar-length pairs, without checkpointing, on both cores, computes the reference in the same step, scores only the
completion positions (`agentsafety.agents.lm.cpu_lm_head`), and computes the tokens a pair's chosen and rejected
sequences share (the prompt and any common turns) once per pair (`agentsafety.training.dpo.shared_prefix`). All runs see the
same pairs in the same number of optimiser steps (ours grouped by length, so in another order), so they should end near
the same training loss; prefix sharing changes no number, only the work.

Pairs per second are over the whole stage (`dpo_stage` wall time: data preparation, the reference pass, training,
merging and saving), since the paper's configuration spends part of its time before training starts. Two more runs
add our changes one at a time: the paper's batch settings with our head and reference (`layout`), then our batches
without prefix sharing (`batched`), so the print says how much of the speed-up comes from where.

The pairs are the ones the `tiny-cpu` preset trains on: decision pairs, each cut after its first diverging agent turn
(`agentsafety.training.prefs.decision_pair`), given to every configuration alike. Prefix sharing saves only the tokens the two
sequences of a pair have in common, which in decision pairs is most of them (the print gives the share).
`--whole-pairs` runs every configuration on whole trajectories instead, which mostly diverge at the first agent turn:
there the shared part is small and sharing gains little.

The machine must be otherwise idle: with another process on one of the two cores, a 2-thread run loses far more than
half its speed. `--threads 1` compares the configurations on one core each.

Run: `python benchmarks/dpo.py [--pairs N] [--threads T] [--whole-pairs]`.
"""
import argparse, json, random, tempfile, time
from pathlib import Path

def build(n_pairs:int, seed:int=0):
    "Sandbox safety pairs of the train cases (seed-0 split) and a tiny model with a tokenizer trained on their text."
    from agentsafety.environments.sandbox.world import SandboxWorld
    from agentsafety.agents.policies import play_policy, policy_pool
    from agentsafety.training.prefs import judged_from_runs, build_pairs, pair_examples, world_prompt_fn, split_examples
    from agentsafety.training.sources import sandbox_tokenizer
    from agentsafety.agents.lm import tiny_model, save_agent, drop_long
    world = SandboxWorld(seed)
    pool = judged_from_runs(play_policy(world, p) for p in policy_pool(seed)[:10])
    exs, _ = pair_examples(pool, build_pairs(pool), world_prompt_fn(world))
    tok = sandbox_tokenizer(vocab_size=4096)
    train, _ = split_examples(exs, 0, len(world.cases))
    train = random.Random(seed).sample(train, 4 * n_pairs)
    train, _ = drop_long(train, tok, 512, ('chosen', 'rejected'))
    train = train[:n_pairs]
    d = Path(tempfile.mkdtemp())
    save_agent(tiny_model(tok), tok, d/'model')
    return d, train

def shared_share(model_dir:Path, pairs:list)->float:
    "The fraction of the pairs' tokens (chosen and rejected sequences, chat template applied) in their common prefixes."
    from agentsafety.agents.lm import load_agent
    _, tok = load_agent(model_dir)
    ids = lambda msgs: tok.apply_chat_template(msgs, tokenize=True, return_dict=True)['input_ids']
    total = shared = 0
    for e in pairs:
        c, r = ids(e['prompt'] + e['chosen']), ids(e['prompt'] + e['rejected'])
        k = next((i for i, (a, b) in enumerate(zip(c, r)) if a != b), min(len(c), len(r)))
        total += len(c) + len(r); shared += 2 * k
    return shared / total

def run(model_dir:Path, pairs:list, name:str, **overrides)->dict:
    "One DPO stage with the tiny-cpu preset and `overrides`; pairs per second over the whole stage, and the losses."
    from agentsafety.training.dpo import dpo_stage, preset
    s = preset('tiny-cpu', epochs=1, max_length=512, logging_steps=1, max_pairs=None, decision_only=False, **overrides)
    t0 = time.perf_counter()
    rec = dpo_stage(model_dir, pairs, model_dir.parent/name, split_seed=None, settings=s, progress=False)
    wall = time.perf_counter() - t0
    return {'pairs_per_s': len(pairs) / wall, 'stage_s': wall, 'train_s': rec['runtime_s'], 'final_loss': rec['final_loss'],
            'train_loss': rec['train_loss'], 'steps': rec['steps']}

PAPER = dict(batch_size=1, grad_accum=8, grad_checkpointing=True, group_by_length=False)

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--pairs', type=int, default=64, help='training pairs (a multiple of 8)')
    ap.add_argument('--threads', type=int, default=2, help='torch threads of our configuration (default 2: both cores)')
    ap.add_argument('--paper-threads', type=int, default=None, help="torch threads of the paper's configuration (default: 1, the fastest for batch 1)")
    ap.add_argument('--whole-pairs', action='store_true', help="whole trajectories instead of the tiny-cpu preset's decision pairs (all runs)")
    a = ap.parse_args()
    d, pairs = build(a.pairs)
    if not a.whole_pairs:  # what the tiny-cpu preset trains on
        from agentsafety.training.prefs import decision_pair
        pairs = [p for p in map(decision_pair, pairs) if p is not None]
    import agentsafety.training.dpo, trl, peft  # imported before timing: each run below pays only its own work
    # the same pairs for all runs; the paper layouts take them in the same order
    paper = run(d/'model', pairs, 'paper', **PAPER, precompute_ref=True, ref_batch_size=1, cpu_head=False, threads=a.paper_threads)
    layout = run(d/'model', pairs, 'layout', **PAPER, threads=a.paper_threads)
    batched = run(d/'model', pairs, 'batched', threads=a.threads, share_prefix=False)  # the preset's length-grouped batches: same pairs, another order
    ours = run(d/'model', pairs, 'ours', threads=a.threads)
    ratio, sh = ours['pairs_per_s'] / paper['pairs_per_s'], shared_share(d/'model', pairs)
    loss_gap = abs(ours['train_loss'] - paper['train_loss']) / paper['train_loss']
    print(f"pairs: {len(pairs)}; optimiser steps: paper {paper['steps']}, ours {ours['steps']}; "
          f"prefixes shared by a pair's chosen and rejected sequences hold {100 * sh:.0f}% of the tokens (sharing computes {50 * sh:.0f}% fewer)")
    print(f"paper (batch 1 x 8 accumulation, gradient checkpointing, precomputed reference, TRL's head): "
          f"{paper['pairs_per_s']:.2f} pairs/s ({paper['stage_s']:.1f} s stage, {paper['train_s']:.1f} s training), mean training loss {paper['train_loss']:.4f}")
    print(f"paper batch layout with our head and in-step reference: {layout['pairs_per_s']:.2f} pairs/s ({layout['stage_s']:.1f} s stage)")
    print(f"ours without prefix sharing (batch 8 of similar length, no checkpointing, {a.threads} threads, our head, in-step reference): "
          f"{batched['pairs_per_s']:.2f} pairs/s ({batched['stage_s']:.1f} s stage), mean training loss {batched['train_loss']:.4f}")
    print(f"ours  (the same with each pair's shared prefix computed once): "
          f"{ours['pairs_per_s']:.2f} pairs/s ({ours['stage_s']:.1f} s stage, {ours['train_s']:.1f} s training), mean training loss {ours['train_loss']:.4f}")
    print(f"speed-up: {ratio:.2f}x (goal >= 3x); of it, head and reference {layout['pairs_per_s'] / paper['pairs_per_s']:.2f}x, "
          f"batch layout {batched['pairs_per_s'] / layout['pairs_per_s']:.2f}x, prefix sharing {ours['pairs_per_s'] / batched['pairs_per_s']:.2f}x; "
          f"training-loss difference {100 * loss_gap:.1f}% (goal <= 10%)")
    print(json.dumps({'paper': paper, 'layout': layout, 'batched': batched, 'ours': ours, 'ratio': ratio, 'loss_gap': loss_gap, 'shared_tokens': sh}))

if __name__ == '__main__': main()
