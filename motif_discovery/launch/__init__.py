"""Launching the pipeline on a cluster (`run_pipeline.sh --slurm N`, docs/cluster.md)."""
