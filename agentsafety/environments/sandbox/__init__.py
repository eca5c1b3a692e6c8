"""The sandbox world: simulated toolkits (tools, shell, commands, apps), scenarios with their judges and scripted behaviours, and the world built from them."""
