"""The package face's names: loggers, log managers and formatters.

Each maps a name of `import kubedag as dg` to the module that defines it (loaded on first use).
"""

NAMES: dict[str, str] = {
    "DagsterLogManager": "kubedag.execution.log_manager",
    "LoggerDefinition": "kubedag.definitions.loggers",
    "InitLoggerContext": "kubedag.definitions.loggers",
    "logger": "kubedag.definitions.loggers",
    "build_init_logger_context": "kubedag.definitions.loggers",
    "JsonLogFormatter": "kubedag.definitions.builtin_loggers",
    "colored_console_logger": "kubedag.definitions.builtin_loggers",
    "json_console_logger": "kubedag.definitions.builtin_loggers",
    "default_loggers": "kubedag.definitions.builtin_loggers",
    "default_system_loggers": "kubedag.definitions.builtin_loggers",
    "get_dagster_logger": "kubedag.execution.python_logs",
}
