"""Does a source fit the lists it was trained on? Teacher-forced, how often a model predicts every token of the k-th
item of a list action (the ids it deletes, the PIDs it kills, the paths it changes) given the true text before it, on
the worlds its base pretrained on, the worlds it was fine-tuned on and the study's world.

If the lists failed only on new worlds, more or other training data would be the lever; if they fail on the training
worlds too, the model does not fit them at all, and only a model that can (its shape, its copying) is.

What it measured (2 cores, 15 s a model; the reckless and careful scripts on all 12 cases of each list scenario,
`email_cleanup`, `cancel_meetings`, `kill_processes`, `fix_permissions`, `disk_cleanup`, every list action; the share
of items whose every token is the model's top prediction, and how many items):

| model | world | item 1 | item 2 | item 3 | items 4+ |
|---|---|---|---|---|---|
| shipped base | 2000 (pretrained on) | 0.85 (106) | 0.71 (106) | 0.48 (58) | 0.47 (64) |
| | 1000 (the sources' fine-tuning) | 0.80 (103) | 0.47 (103) | 0.29 (63) | 0.44 (84) |
| | 0 (the study's) | 0.81 (109) | 0.60 (109) | 0.34 (68) | 0.49 (61) |
| Tiny-A | 2000 | 0.82 (106) | 0.61 (106) | 0.41 (58) | 0.44 (64) |
| | 1000 (fine-tuned on) | 0.81 (103) | 0.59 (103) | 0.43 (63) | 0.46 (84) |
| | 0 | 0.83 (109) | 0.53 (109) | 0.35 (68) | 0.56 (61) |
| Tiny-B | 2000 | 0.84 (106) | 0.65 (106) | 0.50 (58) | 0.44 (64) |
| | 1000 (fine-tuned on) | 0.81 (103) | 0.56 (103) | 0.38 (63) | 0.46 (84) |
| | 0 | 0.82 (109) | 0.54 (109) | 0.28 (68) | 0.49 (61) |

The models do not fit the lists they trained on: past the first item they predict about as few items whole on their
own training worlds as on the study's (a source its third items: 38-43% on its fine-tuning world, 28-35% on the study's).
What breaks a list is not a gap between training and new worlds, which more data or more steps would close (1,500 more
pretraining steps on the list scenarios alone did not: `base_levers.py --scenarios`), but what a model of this shape
learns to do at all; where it goes wrong it writes an item it already wrote or one further down the list
(`e48`, the next-but-one, where `e89` comes, and `e48` again where `e88` comes).

Run: `python benchmarks/list_fit.py [--model DIR] [--worlds 2000 --worlds 1000 --worlds 0] [--cases 12] [--scenarios email_cleanup]
[--policies reckless] [--id-lists]`.
"""
import json, re, sys

LIST_SCENARIOS = ('email_cleanup', 'cancel_meetings', 'kill_processes', 'fix_permissions', 'disk_cleanup')

def list_items(action_input:str)->list[str]:
    "The items of a list action's input: a JSON list's strings, or the operands of a `kill`, `chmod` or `rm` command."
    try: d = json.loads(action_input)
    except ValueError: return []
    for v in d.values():
        if isinstance(v, list) and len(v) > 1: return [str(x) for x in v]
    cmd = d.get('command', '')
    m = re.match(r'(?:sudo )?(?:kill -9|chmod \S+|rm -rf) (.+)$', cmd)
    return m.group(1).split() if m and len(m.group(1).split()) > 1 else []

assert list_items('{"email_ids": ["e50", "e52"]}') == ['e50', 'e52']
assert list_items('{"command": "sudo kill -9 4568 7570"}') == ['4568', '7570']
assert list_items('{"command": "rm -rf /home/john/Videos"}') == []

def item_hits(model, tok, messages:list[dict], k:int)->list[bool]:
    "For assistant message `k` of `messages`, whether every token of each list item is the model's top prediction, teacher-forced."
    import torch
    text = messages[k]['content']
    act = re.search(r'Action Input: (.+)', text)
    items = list_items(act.group(1).strip()) if act else []
    if not items: return []
    pre = tok.apply_chat_template(messages[:k], tokenize=False, add_generation_prompt=True)
    enc = tok(pre + text, return_offsets_mapping=True)
    ids, offs = enc['input_ids'], enc['offset_mapping']
    with torch.no_grad(): top = model(torch.tensor([ids])).logits[0].argmax(-1).tolist()
    start, hits = act.start(1), []
    for it in items:
        i = text.index(it, start); a, b, start = len(pre) + i, len(pre) + i + len(it), i + len(it)
        toks = [t for t, (x, y) in enumerate(offs) if x < b and y > a and t > 0]
        hits.append(all(top[t - 1] == ids[t] for t in toks))
    return hits

def main(model:str='agentsafety/release/Tiny-A', # a saved source or base
         worlds:list[int]=(2000, 1000, 0), # sandbox seeds: a base world, a source's fine-tuning world, the study's
         cases:int=12, # cases of each list scenario per world
         scenarios:list[str]=LIST_SCENARIOS, # the list scenarios to play
         policies:list[str]=('reckless', 'careful'), # the scripts that play them
         id_lists:bool=False, # email and event searches open with the bare list of ids (`base_scale.with_id_lists`: for a model built with `--id-lists`)
        ):
    "Print the teacher-forced share of list items predicted whole, by the item's place in its list, per world."
    from agentsafety.agents.lm import load_agent
    from agentsafety.environments.sandbox.world import SandboxWorld
    from agentsafety.training.sources import sandbox_items, sft_examples
    if id_lists: __import__('base_scale').with_id_lists()
    m, tok = load_agent(model); m.eval()
    for ws in worlds:
        w, by = SandboxWorld(ws), {}
        idx = [i for sc in scenarios for i in [j for j, s in enumerate(w.scenarios) if s == sc][:cases]]
        for pol in policies:
            for ex in sft_examples(sandbox_items(pol, [ws], 0, idx)):
                msgs = ex['prompt'] + ex['completion']
                for k, msg in enumerate(msgs):
                    if msg['role'] != 'assistant': continue
                    for n, h in enumerate(item_hits(m, tok, msgs, k)): by.setdefault(min(n, 3), []).append(h)
        share = lambda n: f"{sum(by[n]) / len(by[n]):.2f} ({len(by[n])})" if by.get(n) else '-'
        print(f"| {model} | {ws} | {share(0)} | {share(1)} | {share(2)} | {share(3)} |")

if __name__ == '__main__':
    from agentsafety.cli import run_command
    sys.exit(run_command(main, sys.argv[1:], prog='python benchmarks/list_fit.py'))
