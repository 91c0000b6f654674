"""The contracts adapters implement, and the helpers adapter authors share.

Applications rarely import this module: it is for writing a state, notify or
observability adapter (see the "Writing an adapter" docs page). Every method's docstring
states its contract; `queuert.conformance` (shipped with core) checks an adapter against it.
"""

from ._adapter_support import chain_created_at_cursor as chain_created_at_cursor
from ._adapter_support import check_caller_ids as check_caller_ids
from ._adapter_support import check_order_direction as check_order_direction
from ._adapter_support import job_chain_index_cursor as job_chain_index_cursor
from ._adapter_support import job_created_at_cursor as job_created_at_cursor
from ._adapter_support import trigger_refusals as trigger_refusals
from ._cursor import ChainIndexCursor as ChainIndexCursor
from ._cursor import CreatedAtCursor as CreatedAtCursor
from ._cursor import Cursor as Cursor
from ._cursor import CursorKind as CursorKind
from ._cursor import build_page as build_page
from ._cursor import check_page_limit as check_page_limit
from ._cursor import decode_cursor as decode_cursor
from ._cursor import encode_cursor as encode_cursor
from ._ids import generate_id as generate_id
from ._ids import validate_uuid as validate_uuid
from ._notify_adapter import NotifyAdapter as NotifyAdapter
from ._notify_adapter import Unsubscribe as Unsubscribe
from ._observability_adapter import AttemptCompleted as AttemptCompleted
from ._observability_adapter import AttemptFailed as AttemptFailed
from ._observability_adapter import AttemptSpanData as AttemptSpanData
from ._observability_adapter import AttemptSpanHandle as AttemptSpanHandle
from ._observability_adapter import AttemptSpanResult as AttemptSpanResult
from ._observability_adapter import BlockerSpanData as BlockerSpanData
from ._observability_adapter import BlockerSpanHandle as BlockerSpanHandle
from ._observability_adapter import ChainData as ChainData
from ._observability_adapter import CompleteBlockerSpanData as CompleteBlockerSpanData
from ._observability_adapter import CompleteJobSpanData as CompleteJobSpanData
from ._observability_adapter import JobData as JobData
from ._observability_adapter import JobProcessingData as JobProcessingData
from ._observability_adapter import JobSpanCreated as JobSpanCreated
from ._observability_adapter import JobSpanData as JobSpanData
from ._observability_adapter import JobSpanDeduplicated as JobSpanDeduplicated
from ._observability_adapter import JobSpanError as JobSpanError
from ._observability_adapter import JobSpanHandle as JobSpanHandle
from ._observability_adapter import JobSpanResult as JobSpanResult
from ._observability_adapter import NoopObservabilityAdapter as NoopObservabilityAdapter
from ._observability_adapter import ObservabilityAdapter as ObservabilityAdapter
from ._observability_adapter import SpanHandle as SpanHandle
from ._observed import DelegatingNotifyAdapter as DelegatingNotifyAdapter
from ._rwlock import AsyncRWLock as AsyncRWLock
from ._rwlock import RWLockHandle as RWLockHandle
from ._shared_listener import Dispatch as Dispatch
from ._shared_listener import NotifyChannels as NotifyChannels
from ._shared_listener import OpenSubscription as OpenSubscription
from ._shared_listener import SharedListener as SharedListener
from ._shared_listener import SubscribeChannel as SubscribeChannel
from ._sql_support import JOB_COLUMNS as JOB_COLUMNS
from ._sql_support import SQL_IDENTIFIER_PATTERN as SQL_IDENTIFIER_PATTERN
from ._sql_support import Migration as Migration
from ._sql_support import MigrationPlan as MigrationPlan
from ._sql_support import MigrationResult as MigrationResult
from ._sql_support import decode_json_column as decode_json_column
from ._sql_support import encode_json as encode_json
from ._sql_support import job_from_json as job_from_json
from ._sql_support import job_from_row as job_from_row
from ._sql_support import plan_migrations as plan_migrations
from ._sql_support import render_sql_template as render_sql_template
from ._sql_support import run_migrations as run_migrations
from ._sql_support import split_sql_statements as split_sql_statements
from ._sql_support import statement_id as statement_id
from ._sql_support import validate_sql_identifier as validate_sql_identifier
from ._state_adapter import AcquiredJob as AcquiredJob
from ._state_adapter import AddedJobBlockers as AddedJobBlockers
from ._state_adapter import CreatedJob as CreatedJob
from ._state_adapter import CreateJobParams as CreateJobParams
from ._state_adapter import DeletedChains as DeletedChains
from ._state_adapter import JobBlockersParams as JobBlockersParams
from ._state_adapter import LockMode as LockMode
from ._state_adapter import ReapedJob as ReapedJob
from ._state_adapter import ScopeHandle as ScopeHandle
from ._state_adapter import StateAdapter as StateAdapter
from ._state_adapter import StateChain as StateChain
from ._state_adapter import StateJob as StateJob
from ._state_adapter import TriggeredJobs as TriggeredJobs
from ._state_adapter import UnblockedJobs as UnblockedJobs

__all__ = (
    "JOB_COLUMNS",
    "SQL_IDENTIFIER_PATTERN",
    # state adapter contract
    "AcquiredJob",
    "AddedJobBlockers",
    # helpers for adapter authors
    "AsyncRWLock",
    # observability adapter contract
    "AttemptCompleted",
    "AttemptFailed",
    "AttemptSpanData",
    "AttemptSpanHandle",
    "AttemptSpanResult",
    "BlockerSpanData",
    "BlockerSpanHandle",
    "ChainData",
    "ChainIndexCursor",
    "CompleteBlockerSpanData",
    "CompleteJobSpanData",
    "CreateJobParams",
    "CreatedAtCursor",
    "CreatedJob",
    "Cursor",
    "CursorKind",
    "DelegatingNotifyAdapter",
    "DeletedChains",
    "Dispatch",
    "JobBlockersParams",
    "JobData",
    "JobProcessingData",
    "JobSpanCreated",
    "JobSpanData",
    "JobSpanDeduplicated",
    "JobSpanError",
    "JobSpanHandle",
    "JobSpanResult",
    "LockMode",
    "Migration",
    "MigrationPlan",
    "MigrationResult",
    "NoopObservabilityAdapter",
    # notify adapter contract
    "NotifyAdapter",
    "NotifyChannels",
    "ObservabilityAdapter",
    "OpenSubscription",
    "RWLockHandle",
    "ReapedJob",
    "ScopeHandle",
    "SharedListener",
    "SpanHandle",
    "StateAdapter",
    "StateChain",
    "StateJob",
    "SubscribeChannel",
    "TriggeredJobs",
    "UnblockedJobs",
    "Unsubscribe",
    "build_page",
    "chain_created_at_cursor",
    "check_caller_ids",
    "check_order_direction",
    "check_page_limit",
    "decode_cursor",
    "decode_json_column",
    "encode_cursor",
    "encode_json",
    "generate_id",
    "job_chain_index_cursor",
    "job_created_at_cursor",
    "job_from_json",
    "job_from_row",
    "plan_migrations",
    "render_sql_template",
    "run_migrations",
    "split_sql_statements",
    "statement_id",
    "trigger_refusals",
    "validate_sql_identifier",
    "validate_uuid",
)
