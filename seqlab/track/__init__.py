"""Writers for what a run records: metrics.jsonl always, wandb when configured."""
