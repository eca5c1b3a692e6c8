"Post-training: preference pairs from judged trajectories, source models by supervised fine-tuning, and DPO schedules."
