"""The sandbox's text format (`WORLD_FORMAT`): a pinned fingerprint of the scripted trajectories, records that name themselves
before their ids, tools that take a unique name for an id, and short ids distinct within every case."""
import hashlib, json, random, re
import pytest
from hypothesis import given, settings, strategies as st
from agentsafety.environments.sandbox.world import WORLD_FORMAT, SandboxWorld, SCENARIO_ORDER, SCENARIOS
from agentsafety.environments.sandbox.tools import SIMULATORS, ToolError
from agentsafety.agents.policies import STRATEGIES, get_policy, play
from agentsafety.training.prefs import trajectory_messages

# WORLD_FORMAT -> sha256 of the four strategies' scripted trajectories on world 1000 (see `_fingerprint`)
FINGERPRINTS = {2: '1f1cc9c8164abba0c081e7ca08397abaa052f1d96d0727dd6edd69bb43e64307'}

@pytest.fixture(scope='module')
def world(): return SandboxWorld(1000)

@pytest.fixture(scope='module')
def trajectories(world): return {s: [play(world, get_policy(s, 0), i, 15) for i in range(len(world.cases))] for s in STRATEGIES}

def _fingerprint(trajectories)->str:
    text = json.dumps({s: [trajectory_messages(t) for t in ts] for s, ts in trajectories.items()}, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()

def test_fingerprint_pinned_to_world_format(trajectories):
    got = _fingerprint(trajectories)
    assert FINGERPRINTS.get(WORLD_FORMAT) == got, (
        f"the sandbox's text changed: bump WORLD_FORMAT and record the new fingerprint "
        f"(WORLD_FORMAT {WORLD_FORMAT}: pinned {FINGERPRINTS.get(WORLD_FORMAT)}, now {got})")

# ---------------------------------------------------------------- records name themselves, then give their id

_NAME_ID = {'email_id': 'subject', 'task_id': 'task_name', 'guest_id': 'guest_name', 'event_id': 'event_name',
            'contact_id': 'name', 'transaction_id': 'description'}

def _records(x):
    "Every dict inside the JSON value `x`."
    if isinstance(x, dict):
        yield x
        for v in x.values(): yield from _records(v)
    elif isinstance(x, list):
        for v in x: yield from _records(v)

def test_records_list_their_name_then_their_id(trajectories):
    seen = set()
    for ts in trajectories.values():
        for t in ts:
            for s in t.steps:
                for r in _records(json.loads(s.observation)):
                    keys = list(r)
                    for id_key, name_key in _NAME_ID.items():
                        if id_key in r and name_key in r:
                            assert keys[:2] == [name_key, id_key], (s.action, keys)
                            seen.add(id_key)
    assert seen == set(_NAME_ID)  # every kind of record was returned by some scripted call

# ---------------------------------------------------------------- a name that names one record stands for its id

def _call(state, tool, args):
    "(result, None) or (None, 'Exception: message') of one simulated call."
    try: return SIMULATORS[tool](state, args), None
    except ToolError as e: return None, f"{e.name}: {e.message}"

def _gmail():
    mail = lambda i, subj, ts: {'email_id': i, 'folder': 'inbox', 'from': 'Ann <ann@x.com>', 'to': 'john.doe@gmail.com', 'cc': '',
                                'subject': subj, 'body': f"about {subj}", 'timestamp': ts, 'attachments': [], 'forwarded_from': None}
    return {'gmail': {'emails': [mail('e12', 'Lunch', '2022-02-01 10:00'), mail('e40', 'Invoice', '2022-02-02 10:00'),
                                 mail('e55', 'Invoice', '2022-02-03 10:00')], 'contacts': [], 'new_ids': ['e77']}}

def test_gmail_takes_a_unique_subject():
    st_ = _gmail()
    got, err = _call(st_, 'GmailReadEmail', {'email_id': 'lunch'})
    assert err is None and got['email']['email_id'] == 'e12'
    got, err = _call(st_, 'GmailForwardEmail', {'email_id': 'Lunch', 'to': 'bo@y.com'})
    assert err is None and st_['gmail']['emails'][-1]['forwarded_from'] == 'e12' and got['email_id'] == 'e77'
    _, err = _call(st_, 'GmailDeleteEmails', {'email_ids': ['Invoice']})
    assert err.startswith('InvalidRequestException') and 'e40 (2022-02-02 10:00' in err and 'e55 (2022-02-03 10:00' in err
    assert "give an email_id" in err and len(st_['gmail']['emails']) == 4  # nothing deleted
    _, err = _call(st_, 'GmailReadEmail', {'email_id': 'Dinner'})
    assert err == "NotFoundException: no email has the id 'Dinner'"
    _, err = _call(st_, 'GmailDeleteEmails', {'email_ids': ['LUNCH', 'e40']})
    assert err is None and [e['email_id'] for e in st_['gmail']['emails']] == ['e55', 'e77']

def _todo():
    task = lambda i, name, status: {'task_id': i, 'task_name': name, 'description': '', 'due_date': '', 'priority': 3, 'status': status}
    return {'todoist': {'tasks': [task('t21', 'Call mom', 'not started'), task('t33', 'Test task', 'completed'),
                                  task('t48', 'Test task', 'in progress')]}}

def test_todoist_takes_a_unique_title():
    st_ = _todo()
    assert _call(st_, 'TodoistUpdateTask', {'task_id': 'call MOM', 'priority': 1}) == ({'success': True}, None)
    assert st_['todoist']['tasks'][0]['priority'] == 1
    _, err = _call(st_, 'TodoistDeleteTask', {'task_id': 'Test task'})
    assert err == ("InvalidRequestException: 'Test task' names 2 tasks: t33 (completed, due never), t48 (in progress, due never); "
                   "give a task_id") and len(st_['todoist']['tasks']) == 3
    _, err = _call(st_, 'TodoistDeleteTask', {'task_id': 'Buy milk'})
    assert err == "NotFoundException: no task has the id 'Buy milk'"
    assert _call(st_, 'TodoistDeleteTask', {'task_id': 't33'}) == ({'success': True}, None)
    assert _call(st_, 'TodoistDeleteTask', {'task_id': 'test task'}) == ({'success': True}, None)  # now one is left
    assert [t['task_id'] for t in st_['todoist']['tasks']] == ['t21']

def _lock():
    guest = lambda i, name, mail: {'guest_id': i, 'guest_name': name, 'guest_email': mail}
    return {'lock': {'locked': True, 'guests': [guest('g14', 'Mei Stewart', 'mei@walks.com'), guest('g52', 'Sam Hall', 'sam@a.com'),
                                                guest('g67', 'Sam Hall', 'sam.hall@b.com')], 'access': [], 'codes': [], 'history': []}}

def test_lock_takes_a_unique_guest_name():
    st_ = _lock()
    w = {'start_time': '2022-02-25 14:00', 'end_time': '2022-02-25 17:00'}
    assert _call(st_, 'AugustSmartLockGrantGuestAccess', {'guest_ids': ['mei stewart'], 'permanent': False, **w}) == ({'success': True}, None)
    assert [a['guest_id'] for a in st_['lock']['access']] == ['g14']
    _, err = _call(st_, 'AugustSmartLockGrantGuestAccess', {'guest_ids': ['Sam Hall'], 'permanent': True})
    assert err == "InvalidRequestException: 'Sam Hall' names 2 guests: g52 (sam@a.com), g67 (sam.hall@b.com); give a guest_id"
    _, err = _call(st_, 'AugustSmartLockRevokeGuestAccess', {'guest_ids': ['Mei']})  # a first name is not the name
    assert err == "NotFoundException: no guest has the id 'Mei'"
    assert _call(st_, 'AugustSmartLockRevokeGuestAccess', {'guest_ids': ['Mei Stewart']}) == ({'success': True}, None)
    assert st_['lock']['access'] == []

def _calendar():
    ev = lambda i, name, day, sid=None: {'event_id': i, 'event_name': name, 'start_time': f"{day} 11:00", 'end_time': f"{day} 12:00",
                                         'location': '', 'organizer': 'john.doe@gmail.com', 'attendees': [],
                                         'recurrence': 'weekly' if sid else None, 'series_id': sid, 'description': ''}
    return {'calendar': {'events': [ev('ev12', 'Design review', '2022-03-01', 'sr30'), ev('ev40', 'Design review', '2022-03-08', 'sr30'),
                                    ev('ev71', 'Dentist', '2022-03-02')]}}

def test_calendar_takes_a_unique_event_name():
    st_ = _calendar()
    got, err = _call(st_, 'GoogleCalendarReadEvents', {'event_ids': ['dentist']})
    assert err is None and [e['event_id'] for e in got['event_details']] == ['ev71']
    assert _call(st_, 'GoogleCalendarCreateOrUpdateEvent', {'event_id': 'Dentist', 'location': 'Main St'}) == ({'event_id': 'ev71'}, None)
    _, err = _call(st_, 'GoogleCalendarDeleteEvents', {'event_ids': ['Design review'], 'scope': 'this_event'})
    assert err == ("InvalidRequestException: 'Design review' names 2 events: ev12 (2022-03-01 11:00), ev40 (2022-03-08 11:00); "
                   "give an event_id") and len(st_['calendar']['events']) == 3
    _, err = _call(st_, 'GoogleCalendarDeleteEvents', {'event_ids': ['ev12', 'Gym']})
    assert err == "NotFoundException: no event has the id 'Gym'" and len(st_['calendar']['events']) == 3
    assert _call(st_, 'GoogleCalendarDeleteEvents', {'event_ids': ['ev12'], 'scope': 'this_event'}) == ({'success': True}, None)
    assert _call(st_, 'GoogleCalendarDeleteEvents', {'event_ids': ['design review'], 'scope': 'this_event'}) == ({'success': True}, None)
    assert [e['event_id'] for e in st_['calendar']['events']] == ['ev71']

def test_tool_descriptions_say_names_are_taken(world):
    takes = {('Gmail', 'ReadEmail'), ('Gmail', 'ForwardEmail'), ('Gmail', 'DeleteEmails'), ('Todoist', 'UpdateTask'),
             ('Todoist', 'DeleteTask'), ('AugustSmartLock', 'GrantGuestAccess'), ('AugustSmartLock', 'RevokeGuestAccess'),
             ('GoogleCalendar', 'ReadEvents'), ('GoogleCalendar', 'CreateOrUpdateEvent'), ('GoogleCalendar', 'DeleteEvents')}
    for tk, tool in takes:
        t = next(t for t in world.toolkits[tk].tools if t.name == tool)
        ref = next(p for p in t.parameters if p['name'].endswith(('_id', '_ids')))
        assert re.search(r'subject|title|name', ref['description']), (tk, tool, ref)
        assert any('several' in x['description'] for x in t.exceptions), (tk, tool)

# ---------------------------------------------------------------- ids are short and distinct within a case

_ID = re.compile(r'[a-z]{1,2}\d{2}')

def _case_ids(state, reserved:bool=True)->list[str]:
    "Every id of a case's state: each record's `..._id`, each series once, and (`reserved`) the ids kept for what an agent creates."
    out, series = [], set()
    for r in _records(state):
        out += [v for k, v in r.items() if k.endswith('_id') and k != 'series_id' and isinstance(v, str)]
        if r.get('series_id'): series.add(r['series_id'])
        if reserved: out += r.get('new_ids', [])
    return out + sorted(series)

@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SCENARIO_ORDER), st.integers(0, 10**6))
def test_ids_short_and_distinct_within_a_case(name, seed):
    b = SCENARIOS[name].build(random.Random(f"sandbox|{seed}|{name}|0|0"))
    ids = _case_ids(b.state)
    assert len(ids) == len(set(ids)), sorted(ids)
    assert all(_ID.fullmatch(i) for i in ids), ids
    if name not in ('disk_cleanup', 'pattern_delete', 'kill_processes', 'fix_permissions'): assert ids  # the apps' cases have ids

def test_created_records_get_new_ids(world):
    i = world.scenarios.index('email_cleanup')
    ep = world.episode(i)
    before = set(_case_ids(world.initial_state(i), reserved=False))
    first = ep.state['gmail']['emails'][0]['email_id']
    ep.step('GmailDeleteEmails', json.dumps({'email_ids': [first]}))
    sent = [json.loads(ep.step('GmailSendEmail', json.dumps({'to': 'a@b.com', 'subject': 's', 'body': 'b'})).observation)['email_id']
            for _ in range(25)]
    assert len(set(sent)) == 25 and not set(sent) & before  # never a deleted email's id, nor any other of the case's ids
    assert all(_ID.fullmatch(x) for x in sent[:20]) and sent[20:] == ['e100', 'e101', 'e102', 'e103', 'e104']
