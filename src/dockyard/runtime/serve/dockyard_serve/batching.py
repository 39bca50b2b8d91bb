"""Adaptive micro-batching: concurrent requests become one vectorised ``predict`` call.

One collector coroutine per worker process takes queued requests whenever the predict thread
is free, and sends a batch when the first of these happens:

- it holds ``max_batch`` rows;
- it holds as many rows as were in the server when the previous batch finished (under
  steady concurrency those requests come back together: waiting for them turns two half
  batches into one; with a single client that number is 1, so nothing waits);
- its oldest request has waited ``max_wait``, or one predict call's duration if shorter
  (waiting longer than a predict call never pays: the late ones could have had a batch of
  their own by then — so a fast model hardly waits at all).

While a batch runs in the predict thread the next requests pile up and leave together the
moment it is done, so batch size follows the load: one row at a time when traffic is light,
up to ``max_batch`` under pressure.

The event loop never runs model code; the single predict thread means the model is never
called concurrently (many are not thread-safe) and native code that releases the GIL runs
while the loop parses the next requests. The queue is bounded: past ``queue_limit`` requests
are refused at once (503 with Retry-After) instead of waiting without end, and every request
has a deadline (504) even if the model hangs.

A batch whose call fails is bisected down to the requests at fault, so one bad row fails
only its own request. A sender (connection) whose last request failed is predicted alone,
after the batch, until a request of its own succeeds; the same rows again get the same
input error without a call. A stalled or slow request is never waited for: only requests
whose body was read and parsed are in the queue.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .models.base import Model, Prediction

log = logging.getLogger("dockyard_serve")


class Overloaded(Exception):
    """The queue is full; ``retry_after`` (seconds) is how long it should take to drain."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("server is overloaded")
        self.retry_after = retry_after


class PredictTimeout(Exception):
    """The request's deadline passed while it was queued or being predicted."""


class ModelError(Exception):
    """The model raised on this request's rows (the rest of its batch was predicted without
    them)."""

    def __init__(self, cause: BaseException, message: str | None = None) -> None:
        super().__init__(message or f"{type(cause).__name__}: {cause}")
        self.cause = cause


@dataclass(eq=False)
class _Job:
    rows: Sequence[list[Any]]
    proba: bool
    future: asyncio.Future[Prediction]
    queued_at: float
    sender: Hashable = None
    #: Its sender's last request failed in the model: predicted alone, not merged.
    suspect: bool = False
    #: The input error's message this very request (same sender, same rows) got last time.
    known: str | None = None


#: Senders remembered as suspects at most (a connection is a tuple: a few hundred KB).
_MAX_SUSPECTS = 4096

#: Exceptions a model raises when the *input* is wrong (unknown category, bad shape...): 422.
INPUT_ERRORS = (ValueError, TypeError, KeyError, IndexError)

BatchObserver = Callable[[int, int, float], None]  # (rows, requests, seconds)
#: A suspect's last input error: a fingerprint of its rows and the message. Neither the rows
#: nor the exception are kept (its traceback holds the model's arrays): thousands of
#: suspects cost a few MB at most.
_Failure = tuple[int, str]
_Predict = Callable[[Model, Sequence["_Job"]], "list[Prediction | BaseException]"]


class Batcher:
    """Queue + collector + predict thread of one worker process."""

    def __init__(
        self,
        model: Model,
        *,
        max_batch: int,
        max_wait_s: float,
        queue_limit: int,
        timeout_s: float,
        on_batch: BatchObserver | None = None,
        on_depth: Callable[[int], None] | None = None,
    ) -> None:
        self._model = model
        self._max_batch = max_batch if model.vectorized else 1
        self._max_wait = max_wait_s
        self._queue_limit = queue_limit
        self._timeout = timeout_s
        self._on_batch = on_batch
        self._on_depth = on_depth or (lambda depth: None)
        self._queue: collections.deque[_Job] = collections.deque()
        self._wakeup: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict")
        self._queued_rows = 0
        self._rows_per_s = 0.0  # moving average, for Retry-After
        #: Rows the next batch should gather: how many were in the server when the last batch
        #: finished (the ones just predicted and the ones queued meanwhile).
        self._target = 1
        #: Moving average of one predict call's duration: the longest worthwhile wait.
        self._predict_s = 0.0
        self._busy_since = 0.0
        #: Senders whose last request failed in the model, oldest first (bounded).
        #: Each with its last request's rows and error when that error was the input's fault.
        self._suspects: collections.OrderedDict[Hashable, _Failure | None] = (
            collections.OrderedDict()
        )

    @property
    def depth(self) -> int:
        """Requests waiting in the queue (not counting the batch being predicted)."""
        return len(self._queue)

    async def predict(
        self, rows: Sequence[list[Any]], proba: bool, sender: Hashable = None
    ) -> Prediction:
        """Queue ``rows`` and wait for their predictions (raises Overloaded, PredictTimeout,
        ModelError). ``sender`` (the client's connection) lets a sender whose last request
        failed in the model be predicted alone."""
        if len(self._queue) >= self._queue_limit:
            raise Overloaded(self._retry_after())
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.get_loop() is not loop:
            # First request, or an app moved to a new event loop (test clients do that).
            self._queue.clear()
            self._queued_rows = 0
            self._task = loop.create_task(self._collect())
        future: asyncio.Future[Prediction] = loop.create_future()
        suspect = sender is not None and sender in self._suspects
        failure = self._suspects.get(sender) if suspect else None
        # The same rows again from the same sender: the same input error, without a call.
        known = failure[1] if failure is not None and failure[0] == _fingerprint(rows) else None
        self._queue.append(_Job(rows, proba, future, loop.time(), sender, suspect, known))
        self._queued_rows += len(rows)
        self._on_depth(len(self._queue))
        self._wake()
        timer = loop.call_later(self._timeout, _expire, future)
        try:
            return await future
        finally:
            timer.cancel()

    def close(self) -> None:
        """Stop the collector; queued requests are failed, the predict thread is released."""
        if self._task is not None:
            self._task.cancel()
        while self._queue:
            job = self._queue.popleft()
            if not job.future.done():
                job.future.set_exception(Overloaded(1))
        self._queued_rows = 0
        self._executor.shutdown(wait=False)

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    async def _wait(self, timeout: float | None) -> None:
        """Sleep until a job is queued (or ``timeout`` seconds)."""
        loop = asyncio.get_running_loop()
        self._wakeup = loop.create_future()
        timer = None if timeout is None else loop.call_later(timeout, self._wake)
        try:
            await self._wakeup
        finally:
            self._wakeup = None
            if timer is not None:
                timer.cancel()

    async def _collect(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                await self._wait(None)
            batch: list[_Job] = []
            rows = self._take(batch, 0)
            if not batch:
                continue
            # The oldest request waits at most max_wait for companions, whatever happens.
            deadline = batch[0].queued_at + min(self._max_wait, self._predict_s)
            goal = min(self._target, self._max_batch)
            # (Anything left in the queue after _take did not fit: the batch is full.)
            # Only queued requests count: a request still sending its body (or stalled) is
            # never waited for, so a slow client cannot slow down everybody's batches.
            while rows < goal and not self._queue:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                await self._wait(remaining)
                rows = self._take(batch, rows)
            try:
                await self._run_with_suspects(batch)
            except Exception as exc:  # a bug here must fail this batch, not stop all batching
                log.exception("batch failed")
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(ModelError(exc))

    def _take(self, batch: list[_Job], rows: int) -> int:
        """Move whole jobs from the queue into ``batch`` while they fit in ``max_batch``."""
        queue = self._queue
        while queue:
            job = queue[0]
            size = len(job.rows)
            if job.future.done():  # timed out while queued
                queue.popleft()
                self._queued_rows -= size
                continue
            if batch and rows + size > self._max_batch:
                break
            queue.popleft()
            self._queued_rows -= size
            batch.append(job)
            rows += size
        self._on_depth(len(queue))
        return rows

    def busy_for(self) -> float:
        """Seconds the current predict call has been running (0 when idle)."""
        return time.perf_counter() - self._busy_since if self._busy_since else 0.0

    async def _run_with_suspects(self, batch: list[_Job]) -> None:
        """One call for the batch; the requests of suspect senders afterwards, each alone.

        Finding a bad request by bisection costs a few calls; a client that keeps sending
        bad rows would make every batch pay that, and everyone with it. Its requests are
        predicted on their own instead (one call, which usually fails fast in the model's
        input checks) until one succeeds — after the others have their answers.
        """
        merged = [job for job in batch if not job.suspect]
        suspects = [job for job in batch if job.suspect]
        if merged:
            await self._run(merged, _bisect, steady=True)
        if suspects:
            await self._run(suspects, _each_alone, steady=False)

    async def _run(self, batch: list[_Job], predict: _Predict, steady: bool) -> None:
        """Predict ``batch`` in the predict thread and answer its requests. Only ``steady``
        runs (ordinary batches) feed the batch-size and timing estimates."""
        loop = asyncio.get_running_loop()
        rows = sum(len(job.rows) for job in batch)
        started = self._busy_since = time.perf_counter()
        try:
            outcome = await loop.run_in_executor(self._executor, predict, self._model, batch)
        finally:
            self._busy_since = 0.0
        elapsed = time.perf_counter() - started
        if self._on_batch is not None:
            self._on_batch(rows, len(batch), elapsed)
        if steady:
            self._rows_per_s = 0.8 * self._rows_per_s + 0.2 * (rows / max(elapsed, 1e-6))
            self._predict_s = (
                0.8 * self._predict_s + 0.2 * elapsed if self._predict_s else elapsed
            )
            self._target = rows + self._queued_rows
        for job, result in zip(batch, outcome, strict=False):
            self._remember(job, result)
            if job.future.done():
                continue
            if isinstance(result, BaseException):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)

    def _remember(self, job: _Job, result: Prediction | BaseException) -> None:
        """Suspect a sender after a failed request, clear it after a good one."""
        if job.sender is None:
            return
        if isinstance(result, BaseException):
            failure = None
            if isinstance(result, ModelError) and isinstance(result.cause, INPUT_ERRORS):
                fingerprint = _fingerprint(job.rows)
                if fingerprint is not None:
                    failure = (fingerprint, str(result)[:2000])
            self._suspects[job.sender] = failure
            if len(self._suspects) > _MAX_SUSPECTS:
                self._suspects.popitem(last=False)
        elif job.suspect:
            self._suspects.pop(job.sender, None)

    def _retry_after(self) -> int:
        """Seconds to drain the queue at the recent rate: what a client should wait."""
        if self._rows_per_s <= 0:
            return 1
        return max(1, min(60, math.ceil(self._queued_rows / self._rows_per_s)))


def _fingerprint(rows: Sequence[list[Any]]) -> int | None:
    """A hash of the rows (None when a value is unhashable, a list or dict feature)."""
    try:
        return hash(tuple(map(tuple, rows)))
    except TypeError:
        return None


def _each_alone(model: Model, jobs: Sequence[_Job]) -> list[Prediction | BaseException]:
    """Runs in the predict thread: one call per request, none for a repeated input error
    (models are functions of their input; a fresh exception each time, as raising the same
    one again would grow its traceback)."""
    return [
        ModelError(ValueError(), job.known) if job.known else _call(model, job.rows, job.proba)
        for job in jobs
    ]


def _bisect(
    model: Model, jobs: Sequence[_Job], proba: bool | None = None
) -> list[Prediction | BaseException]:
    """Runs in the predict thread: ``jobs`` in one call; when that fails, each half again,
    down to the requests at fault.

    One bad request among n costs about 2·log2(n) extra calls, most of them failing fast in
    the model's input checks, where retrying every request alone cost n full calls: a client
    sending poison rows cut everyone's throughput tenfold.
    """
    if not jobs:
        return []
    if proba is None:
        proba = any(job.proba for job in jobs)
    rows = jobs[0].rows if len(jobs) == 1 else [row for job in jobs for row in job.rows]
    result = _call(model, rows, proba)
    if not isinstance(result, BaseException):
        return [result] if len(jobs) == 1 else _split(result, [len(job.rows) for job in jobs])
    if len(jobs) == 1:
        return [result]
    middle = len(jobs) // 2
    return _bisect(model, jobs[:middle], proba) + _bisect(model, jobs[middle:], proba)


def _call(model: Model, rows: Sequence[list[Any]], proba: bool) -> Prediction | BaseException:
    try:
        result = model.predict(rows, proba)
    except BaseException as exc:
        # SystemExit or KeyboardInterrupt raised by model code would otherwise leave the
        # predict thread, end the collector task and take the worker down: one request's
        # failure, so one request's 500.
        return ModelError(exc)
    if len(result.predictions) != len(rows):
        return ModelError(
            RuntimeError(
                f"model returned {len(result.predictions)} predictions for {len(rows)} rows"
            )
        )
    return result


def _split(result: Prediction, sizes: list[int]) -> list[Prediction | BaseException]:
    out: list[Prediction | BaseException] = []
    start = 0
    for size in sizes:
        end = start + size
        probs = result.probabilities[start:end] if result.probabilities is not None else None
        out.append(Prediction(result.predictions[start:end], probs))
        start = end
    return out


def _expire(future: asyncio.Future[Prediction]) -> None:
    if not future.done():
        future.set_exception(PredictTimeout())
