"""One frozen, hashable client configuration, and the route built from it.

Both adapters turn their fields into a :class:`ClientConfig` (settings with the key as a
secret, retry policy, failover pools, rule flags, user HTTP clients). The
:class:`~gw_core.transport.Gateway` route is built from it once and held on it, so a call
does no settings resolution and no key hashing. A changed field means a new
configuration and so a new route: :class:`RouteOwner` keeps an adapter's configuration
in step with its fields on assignment and on ``model_copy(update=...)``, while plain
copies share the (immutable) configuration.

Moving between processes (see ``docs/security.md``): a configuration pickles with its
key, so a model unpickled in a worker keeps working; the route is not pickled (clients
and pools belong to a process) and is rebuilt there. A configuration that holds a user
HTTP client cannot be pickled: that client's connections belong to this process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, TypeVar, cast

from pydantic import ConfigDict, SecretStr, ValidationError

from gw_core.catalog import parse
from gw_core.client import check_http_client
from gw_core.errors import GatewayInputError
from gw_core.retry import RetryPolicy
from gw_core.settings import TUNABLES, Settings
from gw_core.transport import Gateway

__all__ = [
    "PARAM_FIELDS",
    "QUIET_ERRORS",
    "ROUTE_FIELDS",
    "ClientConfig",
    "RouteOwner",
    "as_secret",
    "validated",
    "without_inputs",
]

_Owner = TypeVar("_Owner", bound="RouteOwner")
_T = TypeVar("_T")

#: The request parameters both adapters hold as typed fields under these names and
#: forward to the wire only when set. A parameter added here is added to both adapters
#: (``tests/test_adapters_agree.py`` fails until each has the field).
PARAM_FIELDS = (
    "temperature",
    "top_p",
    "max_completion_tokens",
    "stop",
    "reasoning_effort",
    "seed",
    "presence_penalty",
    "frequency_penalty",
)

#: The adapter fields a route is built from (read by :meth:`RouteOwner._build_config`):
#: assigning one of them rebuilds the configuration.
ROUTE_FIELDS = frozenset(
    {
        "model",
        "api_key",
        "base_url",
        "timeout",
        "stream_chunk_timeout",
        "max_retries",
        "pools",
        "default_headers",
        "stream_usage",
        "check_model_rules",
        "allow_undocumented_parts",
        "http_client",
        "http_async_client",
        *TUNABLES,
    }
)

#: pydantic settings both adapters' models use: validation errors name fields as
#: documented (not by alias) and never repeat input values (a missing-field error's input
#: is every argument, the key included).
QUIET_ERRORS = ConfigDict(hide_input_in_errors=True, loc_by_alias=False)


def without_inputs(exc: ValidationError) -> ValueError:
    """The same validation error with every input value dropped.

    pydantic keeps each failing input on the error (``errors()``, pickles), and the input
    of a missing-field error is every argument given, the API key included. What is left
    names the field and the problem, which is what the user needs to fix it.
    """
    details: list[Any] = []
    for error in exc.errors():
        detail: dict[str, Any] = {"type": error["type"], "loc": error["loc"], "input": None}
        if "ctx" in error:
            detail["ctx"] = error["ctx"]
        details.append(detail)
    try:
        return ValidationError.from_exception_data(exc.title, details, hide_input=True)
    except Exception:  # an error type pydantic cannot rebuild: say the same in plain words
        lines = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        return GatewayInputError(f"invalid {exc.title} arguments: " + "; ".join(lines))


def as_secret(value: object) -> SecretStr | None:
    """An ``api_key`` argument as a ``SecretStr``; anything but text is refused without
    showing the value (pydantic alone would turn bytes into a key)."""
    if value is None or isinstance(value, SecretStr):
        return value
    if not isinstance(value, str):
        raise GatewayInputError(f"api_key must be a str or SecretStr, got {type(value).__name__}")
    return SecretStr(value)


def validated(call: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
    """``call(*args, **kwargs)`` with a ``ValidationError`` raised as :func:`without_inputs`.

    Raised after the ``except`` block on purpose: raised inside it, the error would chain
    the original, whose inputs hold the key.
    """
    try:
        return call(*args, **kwargs)
    except ValidationError as exc:
        error = without_inputs(exc)
    raise error


@dataclass(frozen=True)
class ClientConfig:
    """Everything a route depends on; equal configurations build equal routes."""

    settings: Settings
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    pools: tuple[str, ...] = ()
    check_model_rules: bool = True
    allow_undocumented_parts: bool = False
    stream_usage: bool = True
    http_client: Any = field(default=None, repr=False)
    http_async_client: Any = field(default=None, repr=False)
    _route: Gateway | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def resolve(
        cls,
        *,
        model: str,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        stream_chunk_timeout: float | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        policy: RetryPolicy | None = None,
        pools: Sequence[str] | None = None,
        http_client: Any = None,
        http_async_client: Any = None,
        tunables: Mapping[str, Any] | None = None,
        **flags: bool,
    ) -> ClientConfig:
        """Check and resolve (arguments, then ``GW_*``); every error says what to change.

        ``max_retries`` overrides ``policy``'s; ``tunables`` are the size caps,
        ``stream_timeout`` and ``async_http`` (``gw_core.settings.TUNABLES``); ``flags``
        are the rule flags (``check_model_rules``, ``allow_undocumented_parts``,
        ``stream_usage``).
        """
        settings = Settings.resolve(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            stream_chunk_timeout=stream_chunk_timeout,
            default_headers=dict(default_headers) if default_headers else None,
            **dict(tunables or {}),
        )
        if isinstance(model, str) and settings.secret() in model:
            raise GatewayInputError(
                "the model id holds the API key: pass the key as api_key and a gateway "
                "model id (such as 'gpt-5.4') as model"
            )
        spec = parse(model)
        for pool in pools or ():
            spec.with_pool(pool)  # an unknown pool, or one the model is not offered in
        if policy is not None and not isinstance(policy, RetryPolicy):
            raise GatewayInputError(
                f"retry_policy must be a gw_core.retry.RetryPolicy, got {type(policy).__name__}"
            )
        policy = policy or RetryPolicy()
        if max_retries is not None and max_retries != policy.max_retries:
            policy = policy.with_overrides(max_retries=max_retries)
        check_http_client(http_client, asynchronous=False)
        check_http_client(http_async_client, asynchronous=True)
        unknown = sorted(set(flags) - {f.name for f in fields(cls)})
        if unknown:
            raise TypeError(f"ClientConfig.resolve got unknown flag(s) {unknown}")
        return cls(
            settings=settings,
            policy=policy,
            pools=tuple(pools or ()),
            http_client=http_client,
            http_async_client=http_async_client,
            **{name: bool(value) for name, value in flags.items()},
        )

    @property
    def gateway(self) -> Gateway:
        """The route for this configuration, built on first use and then held."""
        route = self._route
        if route is None:
            route = Gateway(
                self.settings,
                policy=self.policy,
                pools=self.pools,
                http_client=self.http_client,
                http_async_client=self.http_async_client,
            )
            object.__setattr__(self, "_route", route)
        return route

    # Immutable: copies may share it, route included.
    def __copy__(self) -> ClientConfig:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> ClientConfig:
        return self

    def __getstate__(self) -> dict[str, Any]:
        _refuse_user_clients(self)
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "_route"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_route", None)


def _refuse_user_clients(owner: object) -> None:
    if (
        getattr(owner, "http_client", None) is not None
        or getattr(owner, "http_async_client", None) is not None
    ):
        raise TypeError(
            "a model with a user-supplied http_client/http_async_client cannot be "
            "pickled: its connections belong to this process. Pickle it without one "
            "and give the receiving process its own client"
        )


class RouteOwner:
    """Mixin for an adapter's pydantic model: its configuration follows its fields.

    A subclass lists the fields its configuration reads in ``route_fields``
    (:data:`ROUTE_FIELDS`, plus ``retry_policy`` where it has one) and stores the
    configuration in a private ``_config``. Assigning one of those fields, or
    ``model_copy(update=...)``, builds a new configuration at once (so a bad value fails
    there); a model built without ``__init__`` builds it on first use.
    """

    route_fields: ClassVar[frozenset[str]] = ROUTE_FIELDS
    _config: ClientConfig | None

    def _build_config(self) -> ClientConfig:
        """The configuration from the ``route_fields``, read by name: a field listed
        there is one the configuration reads, and no other field is."""
        values = {name: getattr(self, name) for name in self.route_fields}
        tunables = {name: values.pop(name) for name in TUNABLES}
        policy = values.pop("retry_policy", None)
        return ClientConfig.resolve(policy=policy, tunables=tunables, **values)

    @property
    def client_config(self) -> ClientConfig:
        """The configuration every call of this model goes through."""
        config = self._config
        if config is None:
            config = self._config = self._build_config()
        return config

    @property
    def gateway(self) -> Gateway:
        """The route (settings, retry policy, pools, clients) every call goes through."""
        return self.client_config.gateway

    def __setattr__(self, name: str, value: Any) -> None:
        parent = cast(Any, super())
        if name not in self.route_fields or getattr(self, "_config", None) is None:
            parent.__setattr__(name, value)
            return
        old = getattr(self, name)
        parent.__setattr__(name, value)
        try:
            parent.__setattr__("_config", self._build_config())
        except BaseException:
            parent.__setattr__(name, old)
            raise

    def __getstate__(self) -> Any:
        _refuse_user_clients(self)
        return cast(Any, super()).__getstate__()

    def model_copy(
        self: _Owner, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> _Owner:
        """A copy; ``update`` values are validated like assignments (pydantic's own
        ``model_copy`` stores them unchecked: a str key would then show in ``repr``), and
        the configuration (and route) is rebuilt and checked."""
        copied: _Owner = cast(Any, super()).model_copy(deep=deep)
        if update:
            for name, value in update.items():
                copied._assign(name, value)
            copied._config = None
            copied._config = copied._build_config()
        return copied

    def _assign(self, name: str, value: Any) -> None:
        owner = cast(Any, self)
        descriptor = getattr(type(self), name, None)
        if name in type(owner).model_fields:
            validated(owner.__pydantic_validator__.validate_assignment, self, name, value)
        elif isinstance(descriptor, property) and descriptor.fset is not None:
            descriptor.fset(self, value)
        else:
            raise GatewayInputError(f"{type(self).__name__} has no field {name!r} to update")
