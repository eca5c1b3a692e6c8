"Agents: the prompt, tiny language models, backends that write text, the rollout engine and scripted policies."
