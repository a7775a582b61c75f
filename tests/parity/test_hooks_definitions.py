"""Hook definitions on their own: the decorators' forms, calling a hook directly with
`build_hook_context`, and what a test context refuses to make up."""

from typing import Any

import pytest

import kubedag as dg
from kubedag.errors import InvalidPropertyError


def test_decorators_with_and_without_arguments() -> None:
    @dg.success_hook
    def bare_success(context: dg.HookContext) -> None:
        pass

    @dg.success_hook(name="named_success", required_resource_keys={"slack"})
    def with_args(context: dg.HookContext) -> None:
        pass

    @dg.failure_hook
    def bare_failure(context: dg.HookContext) -> None:
        pass

    @dg.failure_hook("positional_name")
    def positional(context: dg.HookContext) -> None:
        pass

    @dg.failure_hook(name="kw_failure", required_resource_keys={"pager"})
    def kw(context: dg.HookContext) -> None:
        pass

    hooks = [bare_success, with_args, bare_failure, positional, kw]
    assert all(isinstance(h, dg.HookDefinition) for h in hooks)
    assert [h.name for h in hooks] == [
        "bare_success",
        "named_success",
        "bare_failure",
        "positional_name",
        "kw_failure",
    ]
    assert with_args.required_resource_keys == frozenset({"slack"})
    assert bare_success.required_resource_keys == frozenset()
    assert bare_success.decorated_fn is not None and bare_success.__name__ == "bare_success"


def test_hook_fn_reports_whether_it_ran() -> None:
    ran: list[str] = []

    @dg.success_hook
    def on_ok(context: Any) -> None:
        ran.append("ok")

    class FakeEvent:
        def __init__(self, success: bool) -> None:
            self.is_step_success = success
            self.is_step_failure = not success

    context = dg.build_hook_context()
    assert on_ok.hook_fn(context, [FakeEvent(True)]) == dg.HookExecutionResult("on_ok", False)
    assert on_ok.hook_fn(context, [FakeEvent(False)]) == dg.HookExecutionResult("on_ok", True)
    assert ran == ["ok"]
    assert dg.HookExecutionResult("x").is_skipped is False


def test_a_hook_function_needs_a_context_parameter() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match="required positional parameter 'context'"):

        @dg.success_hook
        def no_params() -> None:
            pass


def test_calling_a_hook_directly_with_build_hook_context() -> None:
    @dg.op
    def my_op() -> None:
        pass

    @dg.failure_hook(required_resource_keys={"pager"})
    def page(context: dg.HookContext) -> tuple[Any, ...]:
        context.log.info("paging")
        return (
            context.op.name,
            context.run_id,
            context.job_name,
            context.resources.pager,
            repr(context.op_exception),
            context.hook_def.name,
        )

    context = dg.build_hook_context(
        resources={"pager": "the-pager"},
        op=my_op,
        run_id="run-1",
        job_name="my_job",
        op_exception=ValueError("boom"),
    )
    # Calling the hook runs the user's function whatever the step did, and returns its value.
    assert page(context) == ("my_op", "run-1", "my_job", "the-pager", "ValueError('boom')", "page")
    assert page(context=context)[0] == "my_op"


def test_a_directly_called_hook_checks_its_resources() -> None:
    @dg.success_hook(required_resource_keys={"slack"})
    def notify(context: dg.HookContext) -> None:
        pass

    with pytest.raises(dg.InvalidDefinitionError, match="'slack' required by hook 'notify'"):
        notify(dg.build_hook_context())
    notify(dg.build_hook_context(resources={"slack": object()}))


def test_build_hook_context_initializes_resource_definitions() -> None:
    torn_down: list[str] = []

    @dg.resource
    def client(_init: Any) -> Any:
        try:
            yield "connected"
        finally:
            torn_down.append("client")

    @dg.success_hook(required_resource_keys={"client"})
    def use(context: dg.HookContext) -> str:
        value: str = context.resources.client
        return value

    with dg.build_hook_context(resources={"client": client}) as context:
        assert use(context) == "connected"
        assert torn_down == []
    assert torn_down == ["client"]


def test_a_test_context_refuses_what_it_was_not_given() -> None:
    context = dg.build_hook_context()
    for name in ("step_key", "op_config", "op_output_values", "hook_def"):
        with pytest.raises(InvalidPropertyError, match=f"The {name} .*build_hook_context"):
            getattr(context, name)
    with pytest.raises(InvalidPropertyError, match="'run_id' parameter on 'build_hook_context'"):
        _ = context.run_id
    with pytest.raises(InvalidPropertyError, match="'op' parameter"):
        _ = context.op
    assert context.op_exception is None


def test_build_hook_context_takes_an_aliased_op() -> None:
    @dg.op
    def base() -> None:
        pass

    assert dg.build_hook_context(op=base.alias("renamed")).op.name == "renamed"


def test_only_decorated_hooks_can_be_called() -> None:
    raw = dg.HookDefinition(name="raw", hook_fn=lambda context, events: None)
    with pytest.raises(dg.InvalidInvocationError, match="hook decorators can be invoked"):
        raw(dg.build_hook_context())


def test_hook_names_must_be_valid() -> None:
    with pytest.raises(dg.InvalidDefinitionError, match="hook name"):
        dg.HookDefinition(name="not valid", hook_fn=lambda context, events: None)
    with pytest.raises(dg.InvalidDefinitionError, match="HookDefinitions"):

        @dg.job(hooks={"not a hook"})  # type: ignore[arg-type]
        def pipeline() -> None:
            pass
