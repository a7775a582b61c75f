"""Configuration: `Config` models, `EnvVar`, and run config resolution."""
