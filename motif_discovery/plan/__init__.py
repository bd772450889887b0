"""The plan of a run (run_pipeline.sh --dry-run): stages, artifacts, models, estimates."""
