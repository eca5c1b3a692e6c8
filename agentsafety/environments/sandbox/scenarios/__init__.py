"""The sandbox scenarios, one module per group: each scenario's builder, judge and scripted behaviours together."""
