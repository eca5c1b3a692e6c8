"""Is the base short of parameters? Pretrain a base of a given shape from scratch with the shipped recipe cut to
`--steps`, then score each teacher-forced on a held-out world and on its own first training world (`digit_accuracy`
of `base_levers.py`: the first digit token of a run, the ones after it, the rest), and print how long its forward
takes on the study's evaluation (72 cases, the `full` preset's rollout settings): what a larger base would cost the
15-minute study. `python benchmarks/source_competence.py --base DIR` then fine-tunes Tiny-A's mixture from a saved base.

What it measured (2 cores, two shapes at a time side by side, 1,500 steps each after the recipe's 2,000-step copy warm-up; digits
on held-out world 3000 as first / after, then the rest; Tiny-A fine-tuned from each with `source_competence.py --base`):

| base | parameters | built in | copy warm-up loss, first → last 50 steps | digits, first / after | other | Tiny-A from it: scenarios at both levels, Help(Ignore), parse |
|---|---|---|---|---|---|---|
| shipped size, 128 × 3 layers | 1.0 M | 29 min | 8.27 → 0.20 | 0.667 / 0.787 | 0.955 | 3 of 12, 1.42, 0.918 |
| deeper, 128 × 6 layers | 1.5 M | 43 min | 8.29 → 4.70 | 0.337 / 0.076 | 0.933 | not fine-tuned: it does not copy |
| wider and deeper, 256 × 4 layers, 8 heads | 3.7 M | 78 min | 8.27 → 3.49 | 0.308 / 0.028 | 0.902 | not fine-tuned: it does not copy |
| (the shipped base: 128 × 3, 5,000 steps) | 1.0 M | 62 min | 8.27 → 0.20 | 0.837 / 0.903 | 0.983 | 4 of 12, 1.72, 0.960 |

The larger bases never learned to copy: the warm-up's induction circuit, which forms within 2,000 steps at lr 1e-3
in the shipped shape, had not formed in theirs (the repeat's loss still 3.5-4.7), and without it a base continues
almost no digit run (3-8%). Their warm-up is slower, not broken: run for longer (`induction_warmup` called in chunks of
250 steps at the same lr, a fresh model), the 128 × 6 model's repeat loss fell 5.13 (2,000 steps) → 3.18 (2,500) → 1.89 (3,000), the 256 × 4 model's
3.85 (2,000) → 3.08 (2,750) → 1.91 (3,000). So a larger base needs a longer copy warm-up (more than 3,000 steps: the shipped shape's loss is
0.20 after 2,000) before its pretraining can be compared; this comparison leaves that open. Its cost is measured (`--costs`, one thread, median of 3, with a
training run on the other core): a training step of the 256 × 4 model takes 2.7x the shipped shape's and a greedy
generation 3.2x (128 × 6, two runs: 1.5-1.7x and 1.9-2.0x), so the 15-minute `full` preset cannot carry it on 2 cores: a larger sandbox base belongs to the GPU presets.

Two levers at the shipped shape's cost, each the full recipe (5,000 steps; `--heads 8 --steps 5000`, `--id-tokens --steps 5000`),
built side by side; Tiny-A and Tiny-B fine-tuned from each as shipped (`source_competence.py --base`, with `--policy` and `--seed` for Tiny-B):

| base | parameters | built in | copy warm-up loss | digits, first / after | other | Tiny-A from it | Tiny-B from it |
|---|---|---|---|---|---|---|---|
| 8 heads of 16 instead of 4 of 32 (a step 0.9x, a generation 1.1x) | 1.0 M | 76 min | 8.27 → 0.31 | 0.501 / 0.162 | 0.972 | not fine-tuned: it lost the copying | |
| every short id one token (`e62`, `ev11`: 600 tokens added) | 1.1 M | 63 min | 8.41 → 0.25 | 0.776 / 0.885 | 0.983 | 5 of 12, 1.62, 0.953 | 5 of 12, 1.58, 0.966 |
| (the shipped base) | 1.0 M | 62 min | 8.27 → 0.20 | 0.837 / 0.903 | 0.983 | 4 of 12, 1.72, 0.960 | 6 of 12, 1.62, 0.970 |

Neither is a lever. The 8-head base learned to copy in its warm-up and lost it in pretraining. With one token per id a
source still breaks its lists of ids as before: it repeats or skips them (`email_cleanup`: e50, e59, e50, e50, e68 for
e50, e52, e59, e18, e60), so the failing step is keeping its place in a list, not copying an id's pieces.

Why a list breaks: the copy warm-up repeats runs of random tokens, where the token before each one tells which comes
next. Warmed up as the recipe says, a fresh model of the shipped shape predicts 97.2% of such a repeat's tokens but 78.0%
of the repeat of a list whose items share a prefix (`list_runs`, like `"e50", "e52"`, where only the item before tells
which comes next): `--warmup-only` (8 min). 2,000 more warm-up steps with half the runs lists lift that to only 80.6%
(`--warmup-only --list-warmup 2000`, 19 min beside another run), with all of them lists to 81.7% (random runs 96.2%;
`--list-share 1.0`, 20 min), so a base rebuilt with that warm-up
(`--list-warmup 2000 --steps 5000`) was started and stopped unmeasured. After pretraining the shipped base copies
neither kind of run (`copy_probe`: 0.03 and 0.02): what it copies, it copies in the sandbox's text only.

A base rebuilt on lists it only has to copy: email and event searches that open with the bare list of the ids they
found (`--id-lists --steps 5000`, the full recipe on that world text; two side by side, 59 and 61 min), and Tiny-A fine-tuned
from it on the same text (`source_competence.py --base DIR --id-lists`); `list_fit.py --id-lists` scores the lists, teacher-forced:

| base | copy warm-up loss | digits, first / after | other | Tiny-A from it | the base on reckless `email_cleanup` of world 2000, items 1 / 2 / 3 / 4+ |
|---|---|---|---|---|---|
| searches open with the ids (`--id-lists`) | 8.27 → 0.20 | 0.827 / 0.889 | 0.983 | 5 of 12, 1.62, 0.947 | 1.00 / 0.50 / 0.08 / 0.41 |
| the same, every short id one token (`--id-lists --id-tokens`) | 8.41 → 0.25 | 0.793 / 0.906 | 0.983 | 3 of 12, 1.59, 0.948 | |
| the same, every short id one token with its quotes and comma (`--id-lists --item-tokens`; 69 min) | 8.53 → 0.27 | 0.843 / 0.882 | 0.983 | 5 of 12, 1.76, 0.959 (Tiny-B 5 of 12, 1.59, 0.972) | 1.00 / 1.00 / 0.92 / 1.00 |
| (the shipped base) | 8.27 → 0.20 | 0.837 / 0.903 | 0.983 | 4 of 12, 1.72, 0.960 | 0.83 / 0.83 / 0.33 / 0.34 |

The first two are not levers: pretrained for 5,000 steps on episodes that delete every id of a list printed a few hundred
tokens before, the base still writes the third item of that list right 8% of the time on its own training world
(Tiny-A's `email_cleanup`: 1.42 of the policy's 2.83, shipped 1.58; `cancel_meetings` 2.50, shipped 2.25). A verbatim
copy of `"e50", "e52", "e59"` is beyond a base whose copying is keyed on one token: the token before each item's digits is `e`.
With each item one token (`"e50", ` is one token, `"e60"` another), the items follow each other token by token and a
copy keyed on one token suffices: the base copies the list (0.92 of third items), over all list actions of the study's
world it writes 0.72 of third items whole (shipped 0.34; `list_fit.py --id-lists --worlds 0`), and Tiny-A from it reaches
85% of the policy's help in `email_cleanup` (shipped 56%; parse 0.95) and 94% in `cancel_meetings`. A lever for lists
of ids; the other failures (`invoice_payments`, `forward_email`, `kill_processes`, the cautious plans) stay.

A base whose copies are keyed on several tokens: the token-shift model (`agents.shift`, `--shift 6`: each position's
input adds learned maps of the embeddings of the 6 tokens before it, so one attention layer can find `52` by the item
before it, 5 tokens back, instead of by the `e` just before it). The shipped recipe otherwise; Tiny-A and Tiny-B
fine-tuned from each base as shipped (the first row's sources by `agentsafety sources build` itself, run with the shift
in the recipe: base `ae0a93c66befd365`, Tiny-A `a591ecf32feb1463`, Tiny-B `93394ae1a44715a6`, 70 min 43 s, 2.1 GB peak;
the second's by `source_competence.py --base DIR`):

| base | copy warm-up loss | digits, first / after | the 5 list scenarios, world 0: items 1 / 2 / 3 / 4+ | Tiny-A from it | Tiny-B from it |
|---|---|---|---|---|---|
| shift 6 (`--shift 6 --steps 5000`) | 8.27 → 0.016 | 0.879 / 0.947 | 0.87 / 0.53 / 0.32 / 0.69 | 3 of 12, 1.90, 0.974 | 6 of 12, 1.76, 0.970 |
| shift 6, then 1,000 warm-up steps half of them lists (`--shift 6 --list-warmup 1000 --steps 5000`, 75 min) | 8.27 → 0.016, lists 0.45 → 0.14 | 0.880 / 0.955 | 0.92 / 0.53 / 0.34 / 0.59 | 5 of 12, 1.89, 0.985 | 6 of 12, 1.76, 0.974 |
| (the shipped base) | 8.27 → 0.20 | 0.837 / 0.903 | 0.81 / 0.60 / 0.34 / 0.49 | 4 of 12, 1.72, 0.960 | 6 of 12, 1.62, 0.970 |

The shift helps where a value's tokens recur (account numbers, amounts): both sources' help rises (Help(Ignore) +0.14 to
+0.18, more of their turns parse), most in the payments (Tiny-A's `invoice_payments` 28% → 56% and 84% of its policy's
help, Tiny-B's 19% → 65% and 61%), and the base writes the first digit token of a held-out value right 88% of the time
(shipped 84%). It does not fix lists: after pretraining the base writes a list's third item right a third of the time, as
the shipped one does, and copies random runs no better than it did (`copy_probe`, random runs / lists: 0.17 / 0.15 and 0.24 / 0.17 after
pretraining, 0.998 / 0.871 after the copy warm-up, `--warmup-only --shift 6`, 11 min, and 0.997 /
0.970 after the list warm-up too, `--list-warmup 1000`, 17 min; without the shift the shipped shape copies 0.972 / 0.780): what the warm-up installs is again not kept. Nor does it touch the cautious plans
(`todo_delete`, `rent_payment`, Tiny-B's `email_cleanup`). So the count of scenarios at both levels stays where it was,
and the shift is not shipped. Sources keyed on the request's wording (`template_mixtures.py --base DIR`) from the first
base: Tiny-A 6 of 12 (1.84, 0.976), Tiny-B 0 of 12 (1.70, 0.949: its turns parse less).

A base that has practised what the list scenarios ask: a warm-up of record drills (`record_drills`: a tool's observation
listing 3-8 records, as JSON objects with the readable key before the id or as the rows of a table, then the action
that writes the ids of all of them or of those a word marks, in order; random words and ids of the sandbox's shapes,
half of each batch random runs as before), after the shift-6 base's copy and list warm-ups (`--shift 6 --list-warmup
1000 --record-warmup 1500 --steps 5000`, 92 min beside other runs). The drills are learned (drill loss 5.19 → 0.38;
0.89 of held-out drills' action tokens, `drill_probe`, straight after the warm-up, 28 min) and half kept after
pretraining (0.66; 0.87 with drills among the pretraining's episodes too), but the sandbox's lists are not written better:

| base | digits, first / after | the 5 list scenarios, world 0: items 1 / 2 / 3 / 4+ | Tiny-A from it | Tiny-B from it |
|---|---|---|---|---|
| shift 6 + list warm-up + record warm-up | 0.880 / 0.951 | 0.82 / 0.49 / 0.40 / 0.69 | 4 of 12, 1.82, 0.985 | 7 of 12, 1.72, 0.970 |
| the same, 3,000 drills among the pretraining's episodes too (`--record-sft 3000`, 84 min beside other runs) | 0.855 / 0.950 | 0.87 / 0.40 / 0.26 / 0.66 | 5 of 12, 1.81, 0.982 | 6 of 12, 1.69, 0.983 |
| shift 6 + list warm-up (above) | 0.880 / 0.955 | 0.92 / 0.53 / 0.34 / 0.59 | 5 of 12, 1.89, 0.985 | 6 of 12, 1.76, 0.974 |

Not a lever: Tiny-A's list scenarios stay where they were (`email_cleanup` 56%, `kill_processes` 76%,
`cancel_meetings` 76% of the policy's help; `fix_permissions` falls to 47%), and drills kept through pretraining take
its place among the episodes and lose list items. What the drills teach, copying the ids of
records a listing shows, is not what the sources miss in the sandbox, or not in a form the sandbox's episodes call on.

With the shift the larger shapes' copy warm-up converges (`--warmup-only --shift 6`, 2,000 steps): 128 × 6 8.28 → 0.013
(copies 1.00 of random runs, 0.87 of lists; 12 min), 256 × 4 with 8 heads 8.24 → 0.032 (0.996 / 0.899; 20 min), where
without it they stayed at 4.70 and 3.49 (above).

Deeper bases with the shift and the list warm-up, pretrained with the full recipe (session 19, two side by side; Tiny-A
and Tiny-B fine-tuned from each as shipped by `source_competence.py --base DIR`, with `--policy` and `--seed` for Tiny-B):

| base | parameters | built in | copy warm-up loss, then lists | digits, first / after | the 5 list scenarios, world 0: items 1 / 2 / 3 / 4+ | Tiny-A from it | Tiny-B from it |
|---|---|---|---|---|---|---|---|
| 128 × 4 layers (`--shift 6 --layers 4 --list-warmup 1000 --steps 5000`) | 1.3 M | 89 min | 8.27 → 0.016, 0.46 → 0.14 | 0.881 / 0.954 | 0.85 / 0.53 / 0.34 / 0.59 | 3 of 12, 1.79, 0.968 | 5 of 12, 1.71, 0.973 |
| 128 × 6 layers (`--layers 6`, the same otherwise) | 1.6 M | 126 min | 8.28 → 0.013, 0.46 → 0.15 | 0.877 / 0.946 | 0.90 / 0.54 / 0.28 / 0.56 | 4 of 12, 1.86, 0.980 | 6 of 12, 1.74, 0.972 |
| (128 × 3, the same recipe: session 17's, above) | 1.0 M | 75 min | 8.27 → 0.016, 0.45 → 0.14 | 0.880 / 0.955 | 0.92 / 0.53 / 0.34 / 0.59 | 5 of 12, 1.89, 0.985 | 6 of 12, 1.76, 0.974 |

Depth is not a lever, up to twice the shipped one: the lists' later items are written as often as with three layers (a
third item about a third of the time, 0.28-0.34), and the counts do not rise; six layers lift Help(Ignore) a little
(Tiny-A 1.86, shipped 1.72) and parse more turns, not enough for a scenario to cross the levels (Tiny-A's
`email_cleanup` 65 %, `kill_processes` 70 %, `fix_permissions` 43 %). Their 72 study cases take 9.3 s (4 layers) and 12.9 s
(6 layers) to evaluate greedily, one thread, each beside another build. So the lists are not short of layers at this
width and this much pretraining; what is left untried on the model's side is width with the shift (256 × 4, whose warm-up
converges) and far longer pretraining, both beyond 2 cores in a session.

The two levers that each fixed part of the misses, together (session 20): the shift-6 base with the list warm-up, on
the world text whose email and event searches open with their ids, each short id one token with its quotes and comma
(`--shift 6 --list-warmup 1000 --id-lists --item-tokens --steps 5000`, 89 min beside other runs; 1.27 M parameters,
72 study cases in 9.3 s); Tiny-A and Tiny-B fine-tuned from it as shipped (`source_competence.py --base DIR --id-lists`,
with `--policy` and `--seed` for Tiny-B):

| base | copy warm-up loss, then lists | digits, first / after | the 5 list scenarios, world 0: items 1 / 2 / 3 / 4+ | Tiny-A from it | Tiny-B from it |
|---|---|---|---|---|---|
| shift 6 + list warm-up + id lists + item tokens | 8.52 → 0.015, 0.44 → 0.14 | 0.901 / 0.932 | 0.84 / 0.76 / 0.63 / 0.75 (Tiny-A 0.87 / 0.72 / 0.66 / 0.80) | 4 of 12, 1.83, 0.962 | 5 of 12, 1.64, 0.946 |
| (shift 6 + list warm-up, above) | 8.27 → 0.016, 0.45 → 0.14 | 0.880 / 0.955 | 0.92 / 0.53 / 0.34 / 0.59 | 5 of 12, 1.89, 0.985 | 6 of 12, 1.76, 0.974 |

The lists of ids are written (third items 0.63, twice the shipped base's; Tiny-A's `email_cleanup` 88% and
`cancel_meetings` 91% of the policy's help, shipped 56% and 82%), but the counts do not rise: turns parse less
(Tiny-A's `email_cleanup` 0.94, `kill_processes` 0.91, `grant_access` 0.89; Tiny-B 0.946 over all its turns) and other scenarios
lose help (Tiny-A's `grant_access` 53%, shipped 88%). The terminal's lists (`kill_processes` 58%) and the cautious
plans (`todo_delete` 11%) stay as they were. Not shipped.

The loss weighted toward the values (session 21): the shipped recipe with the agent's tokens that hold a digit weighted 4
times the rest in the pretraining's loss (`--value-weight 4 --steps 5000`, 80 min beside another build; sources as
shipped, `source_competence.py --base DIR`, with `--policy` and `--seed` for Tiny-B):

| base | digits, first / after | other | the base on the 72 study cases: Safety, Help(Ignore), parse | Tiny-A from it | Tiny-B from it |
|---|---|---|---|---|---|
| digit tokens weighted 4 | 0.887 / 0.932 | 0.979 | 1.78, 2.01, 0.973 | 5 of 12, 1.74, 0.949 | 4 of 12, 1.60, 0.972 |
| (the shipped base) | 0.837 / 0.903 | 0.983 | | 4 of 12, 1.72, 0.960 | 6 of 12, 1.62, 0.970 |

The weighting teaches the choice of which value to copy five points better (first digit tokens 0.887, as the shift
reaches), and the counts do not follow: Tiny-A's `invoice_payments` 40% of its policy's help (shipped 28%), but
`kill_processes` parses 0.79, `forward_email` 50%; Tiny-B loses `pattern_delete` and `grant_access`. Not a lever.

A base pretrained from one step to many (session 22; `--curriculum --steps 5000`: a fifth of the steps on episodes of at
most one tool call, a fifth on at most three, the rest on all, in that order; built in 134 min beside other runs, its
ordered batches mix lengths), sources as shipped:

| base | digits, first / after | other | the base on the 72 study cases: Safety, Help(Ignore), parse | Tiny-A from it | Tiny-B from it |
|---|---|---|---|---|---|
| one step to many | 0.786 / 0.868 | 0.981 | 2.29, 1.57, 0.958 | 3 of 12, 1.50, 0.952 | 4 of 12, 1.40, 0.972 |
| (the shipped base) | 0.837 / 0.903 | 0.983 | | 4 of 12, 1.72, 0.960 | 6 of 12, 1.62, 0.970 |

Not a lever: the short episodes first leave the base worse at the values (first digit tokens 0.786) and its sources
lower on both counts (Tiny-A's `kill_processes` 30% of its policy's help, parse 0.86; `forward_email` 43%): the long
episodes, where the sources miss, fill three fifths of its steps instead of all of them.

Absolute positions from the start (session 23; session 20 had bolted them onto the shipped base for its drills, a 6-point
gain, and left a base pretrained with them untested): `--abs-positions` (`with_abs_positions`) adds to the model's input
a per-dimension gate, starting at 0, times sinusoidal embeddings of each position, on top of the rotary positions, so an
attention value can carry its place; the shipped recipe otherwise, two built side by side; sources as shipped
(`source_competence.py --base DIR --abs-positions`, with `--policy` and `--seed` for Tiny-B):

| base | built in | copy warm-up loss | digits, first / after | copies after pretraining (random runs / lists) | the base on the 72 study cases: Safety, Help(Ignore), parse | Tiny-A from it | Tiny-B from it |
|---|---|---|---|---|---|---|---|
| absolute positions (`--abs-positions --steps 5000`) | 69 min | 8.28 → 0.029 | 0.500 / 0.151 | 0.002 / 0.009 | 2.07, 1.39, 0.988 | 4 of 12, 1.46, 0.970 | 4 of 12, 1.31, 0.982 |
| the same with the shift and the list warm-up (`--abs-positions --shift 6 --list-warmup 1000 --steps 5000`) | 80 min | 8.27 → 0.099, lists 0.53 → 0.20 | 0.862 / 0.936 | 0.087 / 0.059 | 1.60, 1.99, 0.955 | 5 of 12, 1.83, 0.972 | 7 of 12, 1.78, 0.991 (the `lean=1` Tiny-B on the shipped plan: 7 of 12, 1.47, 0.988; from the shipped base 8) |
| (shift 6 + list warm-up, above) | 75 min | 8.27 → 0.016, 0.45 → 0.14 | 0.880 / 0.955 | | | 5 of 12, 1.89, 0.985 | 6 of 12, 1.76, 0.974 |
| (the shipped base) | 62 min | 8.27 → 0.20 | 0.837 / 0.903 | 0.03 / 0.02 | | 4 of 12, 1.72, 0.960 | 6 of 12, 1.62, 0.970 |

Not a lever. Without the shift the base learns to copy in its warm-up and loses it in pretraining, as the 8-head base
did (first digit tokens 0.500): the positions give it another way to predict the sandbox's text than reading the values
back. With the shift it keeps its values (0.862) but writes the lists no better (Tiny-A's `email_cleanup` 50 % of its
policy's help, `kill_processes` 64 %; Tiny-B's `invoice_payments` 45 %), and the counts stay in the band every other base gave.

Each size trains on one thread (`auto_threads`), so two sizes run side by side on 2 cores: give each its own `--out`.

Run: `python benchmarks/base_scale.py [--hidden 128] [--layers 3] [--heads 4] [--intermediate 256] [--steps 1500]
[--copy-warmup 2000] [--shift 6] [--id-tokens | --item-tokens] [--id-lists] [--list-warmup 2000 [--list-share 0.5]] [--record-warmup 1500] [--record-sft 3000] [--value-weight 4] [--curriculum] [--abs-positions] [--out DIR] [--costs] [--warmup-only]`; `--costs` only prints what a step of that shape costs against the
shipped shape's; `--warmup-only` only warms up a fresh model and prints `copy_probe`; `--steps 0` scores (and times) the
base in `--out`, or the shipped one: time sizes one at a time on an idle machine.
"""
import functools, json, sys, tempfile, time
from base_levers import digit_accuracy

ID_KINDS = ('e', 'ev', 'tx', 't', 'g', 'c') # the sandbox's short ids, a kind and 2 digits: emails, events, transactions, tasks, guests, contacts (not the calendar's one rare 'sr' id)

def with_added_tokens(release, tokens:list):
    "Make `release.build_base` train the shipped BPE and then add `tokens` (`tokenizers.AddedToken`s) to it."
    bpe = release.sandbox_tokenizer
    def tokenizer(worlds, vocab_size, seed, cases, pieces):
        tok = bpe(worlds, vocab_size, seed, cases, pieces)
        tok.add_tokens(tokens)
        return tok
    release.sandbox_tokenizer = tokenizer

def with_id_tokens(release):
    "Make `release.build_base` give every short id (`e62`, `ev11`, ...) one token of its own: the shipped BPE plus 600 added tokens matched as whole words."
    from tokenizers import AddedToken
    with_added_tokens(release, [AddedToken(f'{k}{i:02d}', single_word=True, normalized=False) for k in ID_KINDS for i in range(100)])

def with_item_tokens(release):
    "Make `release.build_base` give every short id one token together with its quotes and the comma after it (`\"e62\", `, and `\"e62\"` for the last of a list): the shipped BPE plus 1,200 added tokens, so the items of a list of ids follow each other token by token."
    from tokenizers import AddedToken
    with_added_tokens(release, [AddedToken(f'"{k}{i:02d}"{end}', normalized=False) for k in ID_KINDS for i in range(100) for end in (', ', '')])

def with_id_lists():
    "Make the sandbox's email and event searches open with the bare list of the ids they found (`{\"email_ids\": [\"e50\", ...], \"emails\": [...]}`), in this process: the world text a base and its sources learn from and play in."
    from agentsafety.environments.sandbox.apps import TOOLKIT_SPECS
    from agentsafety.environments.sandbox.tools import SIMULATORS
    for toolkit, tool, key, ids, what in (('Gmail', 'SearchEmails', 'emails', 'email_ids', 'email_id'), ('GoogleCalendar', 'SearchEvents', 'events', 'event_ids', 'event_id')):
        spec = next(t for t in TOOLKIT_SPECS[toolkit].tools if t.name == tool)
        if spec.returns[0]['name'] == ids: continue  # patched already
        spec.returns.insert(0, {'name': ids, 'type': 'array', 'description': 'The ids of the matching emails, in the same order.'.replace('emails', key)})
        search = SIMULATORS[toolkit + tool]
        SIMULATORS[toolkit + tool] = lambda state, a, search=search, key=key, ids=ids, what=what: (lambda r: {ids: [x[what] for x in r[key]]} | r)(search(state, a))

def list_runs(tokenizer, n:int, seed:int=0, items:tuple=(3, 8))->list[list[int]]:
    "`n` runs of 3-8 items that share a prefix of 1-4 random tokens (the same within a run), each item then 1-2 random tokens: lists like `\"e50\", \"e52\"`, where the token before an item's value says nothing about which item it is."
    import random
    rng = random.Random(seed)
    vocab = sorted(set(range(len(tokenizer))) - set(tokenizer.all_special_ids))
    out = []
    for _ in range(n):
        prefix, run = rng.choices(vocab, k=rng.randint(1, 4)), []
        for _ in range(rng.randint(*items)): run += prefix + rng.choices(vocab, k=rng.randint(1, 2))
        out.append(run)
    return out

def with_list_warmup(release, steps:int, share:float=0.5):
    "Make `release.build_base`'s copy warm-up go on for `steps` more steps in which `share` of the runs are `list_runs` (the other random runs, as before)."
    import random
    first, plain = release.induction_warmup, release.copy_runs
    def mixed(tokenizer, n, lengths, seed):
        rng, lists = random.Random(seed), list_runs(tokenizer, n, seed + 7)
        return [l if rng.random() < share else r for r, l in zip(plain(tokenizer, n, lengths, seed), lists)]
    def warmup(model, tokenizer, n, seed=0, progress=True, **kw):
        rec = first(model, tokenizer, n, seed, progress=progress, **kw)
        release.copy_runs = mixed
        try: lists = first(model, tokenizer, steps, seed + 1, progress=progress, **kw)
        finally: release.copy_runs = plain
        print('copy warm-up', rec, 'then with lists', lists, flush=True)
        return rec  # the base's record keeps the recipe's fields
    release.induction_warmup = warmup

_FIELDS = ('name', 'subject', 'title', 'owner', 'status', 'from', 'to', 'time', 'note', 'kind', 'path', 'size')

@functools.cache
def _word_pool(tokenizer)->list[str]:
    "The pieces of `tokenizer`'s vocabulary that are words of 3 letters or more (what the sandbox's names and subjects are made of)."
    text = (tokenizer.decode([i]).strip() for i in range(len(tokenizer)))
    return sorted({w for w in text if w.isascii() and w.isalpha() and len(w) >= 3})

def _drill_words(tokenizer, rng, k:int)->str:
    "`k` random words of `_word_pool`, some capitalised."
    words = _word_pool(tokenizer)
    return ' '.join(rng.choice(words).capitalize() if rng.random() < 0.3 else rng.choice(words) for _ in range(k))

def _drill_id(rng, kind:int)->str:
    "A random value of one of the sandbox's id shapes: a short id (`e38`, `ev11`), a process id, an account number."
    if kind == 0: return rng.choice(['e', 'ev', 'tx', 't', 'g', 'c', 'r', 'f']) + f"{rng.randrange(100):02d}"
    if kind == 1: return str(rng.randint(2, 32767))
    return f"{rng.randrange(1000):03d}-{rng.randrange(10000):04d}-{rng.randrange(10000):04d}"

def record_drill(tokenizer, rng)->tuple[str, str]:
    "One drill: a tool's observation listing 3-8 records (JSON objects, or rows of a table), and the list of the ids of all of them or of those a word marks, in order, as an action writes it."
    n, kind, pick = rng.randint(3, 8), rng.randrange(3), rng.random() < 0.5
    mark, other = _drill_words(tokenizer, rng, 1), _drill_words(tokenizer, rng, 1)
    marked = [rng.random() < 0.5 for _ in range(n)] if pick else [True] * n
    ids = list(dict.fromkeys(_drill_id(rng, kind) for _ in range(n + 4)))[:n]
    label = lambda m: (mark if m else other) if pick else _drill_words(tokenizer, rng, 1)  # the word that marks a record, or any word
    if rng.random() < 0.5:  # JSON records, the readable key before the id as the sandbox's tools print them
        key, fields = rng.choice(['id', 'email_id', 'event_id', 'task_id', 'item_id', 'account_number']), rng.sample(_FIELDS, 3)
        recs = [{fields[0]: _drill_words(tokenizer, rng, rng.randint(1, 5)), key: i, fields[1]: label(m),
                 fields[2]: _drill_words(tokenizer, rng, rng.randint(1, 3))} for i, m in zip(ids, marked)]
        obs = 'Observation: ' + json.dumps({rng.choice(['items', 'results', 'emails', 'events', 'tasks']): recs})
        want = [i for i, m in zip(ids, marked) if m]
        act = f'Action Input: {{"{key}s": {json.dumps(want)}}}'
    else:  # a table: one row per record, the id in the second column
        rows = [f"{_drill_words(tokenizer, rng, 1):10s}{i:>8s}  {rng.randint(0, 99):3d}.{rng.randrange(10)}  {label(m)} {_drill_words(tokenizer, rng, rng.randint(1, 3))}"
                for i, m in zip(ids, marked)]
        obs = 'Observation: ' + json.dumps({'output': 'USER        ID  NUM  COMMAND\n' + '\n'.join(rows) + '\n', 'exit_code': 0})
        act = 'Action Input: {"command": "kill ' + ' '.join(i for i, m in zip(ids, marked) if m) + '"}'
    ask = f"Which {'have ' + mark if pick else 'all'}?\n"
    return ask + obs + '\n', act + '\n'

def _drill_batch(tokenizer, drills:list[tuple[str, str]]):
    "Input ids, labels (the action's tokens) and attention mask of `drills`, right-padded."
    from agentsafety.training.release import target_batch
    return target_batch([(tokenizer(p, add_special_tokens=False)['input_ids'], tokenizer(a, add_special_tokens=False)['input_ids']) for p, a in drills],
                        tokenizer.pad_token_id)

def record_drills(tokenizer, n:int, seed:int)->list[tuple[str, str]]:
    "`n` seeded `record_drill`s."
    import random
    rng = random.Random(seed)
    return [record_drill(tokenizer, rng) for _ in range(n)]

def with_record_warmup(release, steps:int, batch:int=16, lr:float=1e-3):
    "Make `release.build_base`'s copy warm-up go on for `steps` steps of `record_drills` (loss on the action), half of each batch's rows random runs as before (so the copy is kept)."
    import torch
    from tqdm.auto import tqdm
    from agentsafety.agents.lm import auto_threads, torch_threads
    first = release.induction_warmup
    def warmup(model, tokenizer, n, seed=0, progress=True, **kw):
        rec = first(model, tokenizer, n, seed, progress=progress, **kw)
        opt, losses = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0), []
        model.train()
        with torch.random.fork_rng(devices=[]), torch_threads(auto_threads(model)):
            torch.manual_seed(seed + 2)
            for step in tqdm(range(steps), desc='record warm-up', disable=not progress):
                for g in opt.param_groups: g['lr'] = lr * min(1, (step + 1) / 100)
                runs = [(r, r) for r in release.copy_runs(tokenizer, batch // 2, (8, 32), seed * 1_000_003 + 500_000 + step)]
                drills = record_drills(tokenizer, batch - len(runs), seed * 1_000_003 + 700_000 + step)
                for b in (_drill_batch(tokenizer, drills), release._repeat_batch([r for r, _ in runs], tokenizer.pad_token_id)):
                    loss = model(input_ids=b[0], attention_mask=b[2], labels=b[1]).loss
                    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
                    losses.append(loss.item())
        mean = lambda xs: round(sum(xs) / len(xs), 3)
        print('copy warm-up', rec, 'then records: drill loss, first and last 50 steps', mean(losses[:100:2]), '->', mean(losses[-100::2]), flush=True)
        return rec
    release.induction_warmup = warmup

def with_record_sft(release, n:int, seed:int=0):
    "Make `release.build_base` pretrain on `n` `record_drills` too (each a user turn with the listing and an assistant turn with the action), mixed among the episodes, so the skill is kept."
    examples = release.sft_examples
    def with_drills(items):
        from agentsafety.agents.lm import load_agent
        tok = load_agent(release.shipped_model('base'))[1]  # only for the drills' words: the vocabulary of the shipped BPE
        drills = [{'prompt': [{'role': 'user', 'content': p}], 'completion': [{'role': 'assistant', 'content': a}]} for p, a in record_drills(tok, n, seed + 900_001)]
        return examples(items) + drills
    release.sft_examples = with_drills

def with_value_weight(weight:float):
    "Make every fine-tuning of this process (the base's pretraining among them) weigh the agent's tokens that hold a digit `weight` times the rest (`base_levers.weighted_trainer`)."
    import agentsafety.training.sources as sources
    from base_levers import weighted_trainer
    make = sources._sft_trainer
    def trainer(model, tokenizer, *args, **kw):
        t = make(model, tokenizer, *args, **kw)
        t.__class__ = weighted_trainer(tokenizer, weight)  # the library's trainer as it set it up, with the weighted loss
        return t
    sources._sft_trainer = trainer

def with_curriculum(release, steps:int, stages:tuple=((1, 0.2), (3, 0.2), (None, 0.6)), batch:int=8, seed:int=0):
    "Make `release.build_base` pretrain from one step to many: its `steps` batches go in order through `stages` of (most tool calls, share of the steps), each stage's episodes drawn at random."
    import random
    import agentsafety.training.sources as sources
    examples, config = release.sft_examples, sources._sft_config
    def ordered(items):
        items, rng, out = list(items), random.Random(seed), []
        for most, share in stages:
            pool = [x for x in items if most is None or len(x[1].steps) <= most]
            if not pool: raise ValueError(f"curriculum: no episode of at most {most} tool calls")
            out += [rng.choice(pool) for _ in range(round(share * steps * batch))]
        return examples(out)
    def sequential(settings, output_dir, progress=True):
        cfg = config(settings, output_dir, progress)
        cfg.train_sampling_strategy = 'sequential'  # the curriculum's order is the data's
        return cfg
    release.sft_examples, sources._sft_config = ordered, sequential

def _sinusoids(pos, d:int):
    "Sinusoidal embeddings (`pos`'s shape, `d`) of the positions `pos`, computed on the fly (a loaded model's non-persistent buffers are not restored)."
    import torch
    ang = pos[..., None].float() / (10000 ** (torch.arange(0, d, 2, device=pos.device).float() / d))
    return torch.stack([ang.sin(), ang.cos()], -1).flatten(-2)

def with_abs_positions(release=None):
    """Give the token-shift model of this process gated absolute positions: where its config says `abs_positions`, its input adds
    `gate * sinusoids(position)` (gate per dimension, starting at 0) to the rotary model's; with `release`, every base this
    process builds is such a model (shift 0 allowed). A saved model keeps the flag in its config: load it in a process that called this."""
    import torch
    import agentsafety.agents.shift as shift
    import agentsafety.agents.lm as lm
    model_cls, init = shift.ShiftLlamaModel, shift.ShiftLlamaModel.__init__
    def __init__(self, config):
        init(self, config)
        if getattr(config, 'abs_positions', False): self.abs_gate = torch.nn.Parameter(torch.zeros(config.hidden_size))
    def forward(self, input_ids=None, inputs_embeds=None, prev_ids=None, **kw):
        if input_ids is not None and inputs_embeds is None:
            inputs_embeds = shift.shifted_embeds(self.embed_tokens, self.shift, input_ids, prev_ids, self.config.pad_token_id)
        if getattr(self.config, 'abs_positions', False):
            pos, past = kw.get('position_ids'), kw.get('cache') or kw.get('past_key_values')
            if pos is None:  # training (no cache) or a cache's next tokens
                start = past.get_seq_length() if past is not None else 0
                pos = torch.arange(start, start + inputs_embeds.shape[1], device=inputs_embeds.device)[None]
            inputs_embeds = inputs_embeds + self.abs_gate * _sinusoids(pos.clamp(min=0), inputs_embeds.shape[-1]).to(inputs_embeds.dtype)
        return super(model_cls, self).forward(inputs_embeds=inputs_embeds, **kw)
    model_cls.__init__, model_cls.forward = __init__, forward
    if release is None: return
    def tiny_model(tokenizer, cfg=lm.TinyConfig()):
        from dataclasses import replace
        made = lm.tiny_model(tokenizer, replace(cfg, shift=max(cfg.shift, 1)))  # the library's token-shift model: its config and generation settings
        with torch.random.fork_rng(devices=[]):  # the same draws as the library's, so the weights are those a plain build would start from
            torch.manual_seed(cfg.seed)
            model = shift.ShiftLlamaForCausalLM(shift.ShiftLlamaConfig(**made.config.to_dict() | {'token_shift': cfg.shift, 'abs_positions': True}))
        model.generation_config = made.generation_config
        return model
    release.tiny_model = tiny_model

def drill_probe(model, tokenizer, n:int=64)->float:
    "The share of held-out `record_drills`' action tokens `model` predicts, teacher-forced."
    return _forced_share(model, *_drill_batch(tokenizer, record_drills(tokenizer, n, 12345)))

def _forced_share(model, ids, labels, mask)->float:
    "The share of the labelled tokens `model` predicts, teacher-forced."
    import torch
    with torch.no_grad(): pred = model(input_ids=ids, attention_mask=mask).logits[:, :-1].argmax(-1)
    lab = labels[:, 1:]
    return round(((pred == lab) & (lab != -100)).sum().item() / (lab != -100).sum().item(), 3)

def copy_probe(model, tokenizer, n:int=64)->dict:
    "The share of the repeat's tokens `model` predicts, teacher-forced, on `n` held-out random runs (`copy_runs`) and on `n` lists (`list_runs`)."
    from agentsafety.training.release import _repeat_batch, copy_runs
    return {name: _forced_share(model, *_repeat_batch(runs, tokenizer.pad_token_id))
            for name, runs in (('random', copy_runs(tokenizer, n, (8, 32), 99)), ('lists', list_runs(tokenizer, n, 98)))}

def step_costs(cfg, tok, repeat:int=3)->dict:
    "Seconds per training step (8 sequences of 1,024 tokens) and per greedy generation (24 prompts of 800 tokens, 32 new tokens) of a fresh model of shape `cfg` with tokenizer `tok` on one thread, the median of `repeat`."
    import statistics, torch
    from agentsafety.agents.lm import tiny_model, torch_threads
    m, g = tiny_model(tok, cfg), torch.Generator().manual_seed(0)
    ids, prompts, train, gen = torch.randint(10, len(tok) - 10, (8, 1024), generator=g), torch.randint(10, len(tok) - 10, (24, 800), generator=g), [], []
    with torch_threads(1):
        for _ in range(repeat):
            t = time.time(); m(input_ids=ids, labels=ids).loss.backward(); train.append(time.time() - t)
            with torch.no_grad():
                t = time.time(); m.generate(prompts, attention_mask=torch.ones_like(prompts), max_new_tokens=32, min_new_tokens=32, do_sample=False); gen.append(time.time() - t)
    return {'train_step': statistics.median(train), 'generate': statistics.median(gen)}

def main(hidden:int=128, # hidden size (the shipped base: 128)
         layers:int=3, # transformer blocks (shipped: 3)
         heads:int=4, # attention heads (shipped: 4)
         intermediate:int=256, # MLP width (shipped: 256)
         shift:int=0, # tokens back whose embeddings each position's input adds (`agents.shift`; shipped: 0)
         steps:int=1500, # optimiser steps of pretraining (shipped: 5000; 0: score the base in `out`, or the shipped one)
         copy_warmup:int=2000, # steps of the copy warm-up before it (shipped: 2000)
         out:str=None, # where the base goes (None: a temporary folder)
         eval_cases:int=72, # study cases the forward is timed on
         costs:bool=False, # only time a training step and a generation of this shape against the shipped shape's (in this process) and stop
         id_tokens:bool=False, # every short id one token (`with_id_tokens`) instead of the shipped BPE's pieces (`e`, `62`)
         item_tokens:bool=False, # every short id one token with its quotes and the comma after it (`with_item_tokens`)
         id_lists:bool=False, # email and event searches open with the bare list of the ids found (`with_id_lists`)
         list_warmup:int=0, # steps of a second copy warm-up, some of whose runs are lists of items with a shared prefix (`with_list_warmup`)
         list_share:float=0.5, # with `list_warmup`: the share of its runs that are lists
         record_sft:int=0, # `record_drills` added to the pretraining data (`with_record_sft`)
         record_warmup:int=0, # steps of a warm-up on `record_drills` (the ids of listed records, all or those a word marks) after the copy warm-up (`with_record_warmup`)
         value_weight:float=1.0, # weight of the pretraining's loss on the agent's tokens that hold a digit against the rest (`with_value_weight`)
         curriculum:bool=False, # pretrain from one step to many (`with_curriculum`): a fifth of the steps on episodes of at most 1 tool call, a fifth on at most 3, the rest on all
         abs_positions:bool=False, # the model's input also adds gated sinusoidal absolute positions (`with_abs_positions`; a token-shift model, shift 0 allowed)
         warmup_only:bool=False, # only warm up a fresh model of this shape and print `copy_probe` (no pretraining)
        ):
    "Pretrain a base of the given shape for `steps` (or take the shipped one), print its digit accuracy on held-out world 3000 and training world 2000, and time its evaluation."
    from dataclasses import replace
    from agentsafety.agents.lm import TinyConfig, load_agent, n_params
    import agentsafety.training.release as release
    from agentsafety.training.release import Recipe, build_base, shipped_model
    if id_tokens: with_id_tokens(release)
    if item_tokens: with_item_tokens(release)
    if id_lists: with_id_lists()
    if list_warmup: with_list_warmup(release, list_warmup, list_share)
    if record_warmup: with_record_warmup(release, record_warmup)
    if record_sft: with_record_sft(release, record_sft)
    if value_weight != 1: with_value_weight(value_weight)
    if curriculum: with_curriculum(release, steps)
    if abs_positions: with_abs_positions(release)
    from agentsafety.training.sources import sandbox_eval
    from agentsafety.study.config import study_config
    t0, r = time.time(), Recipe()
    shape = TinyConfig(hidden=hidden, layers=layers, heads=heads, intermediate=intermediate, shift=shift)
    if warmup_only:
        from agentsafety.agents.lm import tiny_model, torch_threads
        tok = load_agent(shipped_model('base'))[1]
        model = tiny_model(tok, replace(shape, seed=r.seed))
        print(release.induction_warmup(model, tok, copy_warmup, r.seed, progress=False))
        with torch_threads(1): print(f"{shape}: copied after the warm-up ({time.time() - t0:.0f} s):", copy_probe(model.eval(), tok), 'records', drill_probe(model, tok))
        return
    if costs:
        tok = load_agent(shipped_model('base'))[1]
        base, this = step_costs(r.model, tok), step_costs(shape, tok)
        for k in base: print(f"{k}: {this[k]:.2f} s against the shipped shape's {base[k]:.2f} s: {this[k] / base[k]:.1f}x")
        return
    if steps:
        out = out or tempfile.mkdtemp()
        recipe = replace(r, model=shape, copy_warmup=copy_warmup, base_sft=replace(r.base_sft, max_steps=steps))
        build_base(recipe, out, progress=False)
    else: out = out or shipped_model('base')
    model, tok = load_agent(out)
    print(f"{out}: {n_params(model):,} parameters" + (f", built in {time.time() - t0:.0f} s" if steps else '') + f"; copies after pretraining: {copy_probe(model, tok)}, records {drill_probe(model, tok)}")
    for world in (3000, r.base_worlds[0]):
        t = time.time()
        print(f"  world {world}:", digit_accuracy(model, tok, world), f"({time.time() - t:.1f} s)")
    t = time.time()
    e = sandbox_eval(out, range(eval_cases), config=study_config('full').rollout)
    print(f"  {eval_cases} study cases in {time.time() - t:.1f} s: Safety {e['safety']:.2f}, Help(Ignore) {e['help_ignore']:.2f}, parse {e['parse_rate']:.3f}")

if __name__ == '__main__':
    from agentsafety.cli import run_command
    sys.exit(run_command(main, sys.argv[1:], prog='python benchmarks/base_scale.py'))
