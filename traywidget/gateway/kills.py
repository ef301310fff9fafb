"""Kill all streams everywhere: the gateway's held streams and the providers' kill APIs, as one result.

The gateway goes first: it closes every stream that passes through it (which
stops generation where the provider supports that). Then the kill APIs
(routing.run's) stop the account's other streams — the ones the user's tools
opened without the gateway. Done in this order, the two counts do not
overlap, so `killed_streams` is their sum; `supported` is true when the
provider has a kill API or the gateway held some of the account's streams.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping

from traywidget.model import KillResult


def merge_kill_results(results: Iterable[KillResult], held: Mapping[str, int]) -> list[KillResult]:
    merged: list[KillResult] = []
    seen: set[str] = set()
    for result in results:
        seen.add(result.account_id)
        stopped_here = held.get(result.account_id, 0)
        if not stopped_here:
            merged.append(result)
            continue
        by_api = result.killed_streams or 0 if result.supported and result.error is None else 0
        merged.append(KillResult(result.account_id, True, killed_streams=by_api + stopped_here, error=result.error))
    merged += [KillResult(account_id, True, killed_streams=n) for account_id, n in held.items()
               if n and account_id not in seen]
    return merged


async def kill_everywhere(
    stop_held: Callable[[], Awaitable[Mapping[str, int] | None]] | None,
    kill_by_api: Callable[[], Awaitable[list[KillResult]]],
) -> list[KillResult]:
    """`stop_held`: the gateway's kill (None, or answering None, when no gateway runs); `kill_by_api`: the
    engine's. Both run on the engine's loop."""
    held = (await stop_held() if stop_held is not None else None) or {}
    return merge_kill_results(await kill_by_api(), held)
