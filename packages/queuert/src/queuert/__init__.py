"""queuert: chains of background jobs stored in your own database, started inside your own transactions.

Application code imports from here. Adapter authors import the contracts and helpers from
`queuert.adapters`; errors live in `queuert.errors` and are re-exported here.
"""

from ._abort import AbortController as AbortController
from ._abort import AbortSignal as AbortSignal
from ._client import Client as Client
from ._client import StartChainItem as StartChainItem
from ._client import WorkerlessCompletion as WorkerlessCompletion
from ._client import create_client as create_client
from ._completion import CompleteContext as CompleteContext
from ._completion import ContinuationJob as ContinuationJob
from ._entities import BlockedChain as BlockedChain
from ._entities import BlockedJob as BlockedJob
from ._entities import Chain as Chain
from ._entities import ChainFilter as ChainFilter
from ._entities import ChainLike as ChainLike
from ._entities import CompletedChain as CompletedChain
from ._entities import CompletedJob as CompletedJob
from ._entities import DeduplicationOptions as DeduplicationOptions
from ._entities import DeduplicationScope as DeduplicationScope
from ._entities import Job as Job
from ._entities import JobFilter as JobFilter
from ._entities import JobStatus as JobStatus
from ._entities import JsonValue as JsonValue
from ._entities import OrderDirection as OrderDirection
from ._entities import Page as Page
from ._entities import PendingChain as PendingChain
from ._entities import PendingJob as PendingJob
from ._entities import RunningChain as RunningChain
from ._entities import RunningJob as RunningJob
from ._entities import ScheduleAfter as ScheduleAfter
from ._entities import ScheduleAt as ScheduleAt
from ._entities import ScheduleOptions as ScheduleOptions
from ._entities import StartedChain as StartedChain
from ._extras import ContextKey as ContextKey
from ._extras import Extras as Extras
from ._in_process._notify import InProcessNotifyAdapter as InProcessNotifyAdapter
from ._in_process._notify import create_in_process_notify_adapter as create_in_process_notify_adapter
from ._in_process._state import InProcessStateAdapter as InProcessStateAdapter
from ._in_process._state import InProcessTx as InProcessTx
from ._in_process._state import create_in_process_state_adapter as create_in_process_state_adapter
from ._job_types import BlockerSlot as BlockerSlot
from ._job_types import EntryJobType as EntryJobType
from ._job_types import InputRef as InputRef
from ._job_types import JobType as JobType
from ._job_types import JobTypes as JobTypes
from ._job_types import JobTypesOptions as JobTypesOptions
from ._job_types import NoOutput as NoOutput
from ._job_types import Ref as Ref
from ._job_types import Reference as Reference
from ._job_types import ResolvedRef as ResolvedRef
from ._job_types import Rest as Rest
from ._job_types import Slot as Slot
from ._job_types import create_job_types as create_job_types
from ._job_types import define_job_types as define_job_types
from ._log import Log as Log
from ._log import LogEntry as LogEntry
from ._log import LogLevel as LogLevel
from ._log import create_console_log as create_console_log
from ._log import create_logging_log as create_logging_log
from ._noop_notify import NoopNotifyAdapter as NoopNotifyAdapter
from ._observability_adapter import NoopObservabilityAdapter as NoopObservabilityAdapter
from ._observability_adapter import ObservabilityAdapter as ObservabilityAdapter
from ._transaction_hooks import HookDefinition as HookDefinition
from ._transaction_hooks import HookKey as HookKey
from ._transaction_hooks import HooksSavepoint as HooksSavepoint
from ._transaction_hooks import TransactionHooks as TransactionHooks
from ._transaction_hooks import TransactionHooksHandle as TransactionHooksHandle
from ._transaction_hooks import create_transaction_hooks as create_transaction_hooks
from ._transaction_hooks import transaction_hooks as transaction_hooks
from ._worker._config import BackoffConfig as BackoffConfig
from ._worker._config import LeaseConfig as LeaseConfig
from ._worker._config import WorkerDefaults as WorkerDefaults
from ._worker._context import AttemptContext as AttemptContext
from ._worker._context import AttemptHandler as AttemptHandler
from ._worker._context import AttemptResult as AttemptResult
from ._worker._context import AttemptSignal as AttemptSignal
from ._worker._context import JobAbortReason as JobAbortReason
from ._worker._context import Prepare as Prepare
from ._worker._context import PrepareContext as PrepareContext
from ._worker._context import PrepareMode as PrepareMode
from ._worker._context import RunningJobWithBlockers as RunningJobWithBlockers
from ._worker._middleware import AttemptMiddleware as AttemptMiddleware
from ._worker._middleware import Next as Next
from ._worker._processors import Processor as Processor
from ._worker._processors import ProcessorBase as ProcessorBase
from ._worker._processors import Processors as Processors
from ._worker._processors import create_processors as create_processors
from ._worker._worker import InProcessWorker as InProcessWorker
from ._worker._worker import StopWorker as StopWorker
from ._worker._worker import create_in_process_worker as create_in_process_worker
from .errors import AdapterClosedError as AdapterClosedError
from .errors import AttemptUsageError as AttemptUsageError
from .errors import BlockerReference as BlockerReference
from .errors import BlockerReferenceError as BlockerReferenceError
from .errors import ChainNotFoundError as ChainNotFoundError
from .errors import DuplicateJobIdError as DuplicateJobIdError
from .errors import DuplicateJobTypeError as DuplicateJobTypeError
from .errors import HookNotRegisteredError as HookNotRegisteredError
from .errors import InvalidCursorError as InvalidCursorError
from .errors import InvalidJobIdError as InvalidJobIdError
from .errors import JobAlreadyCompletedError as JobAlreadyCompletedError
from .errors import JobNotFoundError as JobNotFoundError
from .errors import JobNotTriggerableError as JobNotTriggerableError
from .errors import JobTakenByAnotherWorkerError as JobTakenByAnotherWorkerError
from .errors import JobTypeDefinitionError as JobTypeDefinitionError
from .errors import JobTypeMismatchError as JobTypeMismatchError
from .errors import JobTypeValidationError as JobTypeValidationError
from .errors import MigrationRequiredError as MigrationRequiredError
from .errors import QueuertError as QueuertError
from .errors import RescheduleJobError as RescheduleJobError
from .errors import SchemaVersionError as SchemaVersionError
from .errors import TransactionContextRequiredError as TransactionContextRequiredError
from .errors import UnknownJobTypeError as UnknownJobTypeError
from .errors import WaitChainTimeoutError as WaitChainTimeoutError
from .errors import reschedule_job as reschedule_job

__version__ = "0.1.0"

__all__ = (
    "AbortController",
    "AbortSignal",
    "AdapterClosedError",
    "AttemptContext",
    "AttemptHandler",
    "AttemptMiddleware",
    "AttemptResult",
    "AttemptSignal",
    "AttemptUsageError",
    "BackoffConfig",
    "BlockedChain",
    "BlockedJob",
    "BlockerReference",
    "BlockerReferenceError",
    "BlockerSlot",
    "Chain",
    "ChainFilter",
    "ChainLike",
    "ChainNotFoundError",
    "Client",
    "CompleteContext",
    "CompletedChain",
    "CompletedJob",
    "ContextKey",
    "ContinuationJob",
    "DeduplicationOptions",
    "DeduplicationScope",
    "DuplicateJobIdError",
    "DuplicateJobTypeError",
    "EntryJobType",
    "Extras",
    "HookDefinition",
    "HookKey",
    "HookNotRegisteredError",
    "HooksSavepoint",
    "InProcessNotifyAdapter",
    "InProcessStateAdapter",
    "InProcessTx",
    "InProcessWorker",
    "InputRef",
    "InvalidCursorError",
    "InvalidJobIdError",
    "Job",
    "JobAbortReason",
    "JobAlreadyCompletedError",
    "JobFilter",
    "JobNotFoundError",
    "JobNotTriggerableError",
    "JobStatus",
    "JobTakenByAnotherWorkerError",
    "JobType",
    "JobTypeDefinitionError",
    "JobTypeMismatchError",
    "JobTypeValidationError",
    "JobTypes",
    "JobTypesOptions",
    "JsonValue",
    "LeaseConfig",
    "Log",
    "LogEntry",
    "LogLevel",
    "MigrationRequiredError",
    "Next",
    "NoOutput",
    "NoopNotifyAdapter",
    "NoopObservabilityAdapter",
    "ObservabilityAdapter",
    "OrderDirection",
    "Page",
    "PendingChain",
    "PendingJob",
    "Prepare",
    "PrepareContext",
    "PrepareMode",
    "Processor",
    "ProcessorBase",
    "Processors",
    "QueuertError",
    "Ref",
    "Reference",
    "RescheduleJobError",
    "ResolvedRef",
    "Rest",
    "RunningChain",
    "RunningJob",
    "RunningJobWithBlockers",
    "ScheduleAfter",
    "ScheduleAt",
    "ScheduleOptions",
    "SchemaVersionError",
    "Slot",
    "StartChainItem",
    "StartedChain",
    "StopWorker",
    "TransactionContextRequiredError",
    "TransactionHooks",
    "TransactionHooksHandle",
    "UnknownJobTypeError",
    "WaitChainTimeoutError",
    "WorkerDefaults",
    "WorkerlessCompletion",
    "create_client",
    "create_console_log",
    "create_in_process_notify_adapter",
    "create_in_process_state_adapter",
    "create_in_process_worker",
    "create_job_types",
    "create_logging_log",
    "create_processors",
    "create_transaction_hooks",
    "define_job_types",
    "reschedule_job",
    "transaction_hooks",
)
