//! What an instance keeps between a door's requests: the terminal and its room as last read.
//! Only a check-in relies on them, and its write holds again what it relied on (the terminal
//! still paired and open to PINs, the room at the version its rules were read at), so they need
//! no short lifetime: a kept record gone stale costs one failed write and a fresh read.

use std::time::Duration;

use steward_kit::latency::Cache;
use steward_kit::recent::Recent;
use steward_store::StoreError;
use steward_store::rooms::RoomRecord;
use steward_store::terminals::TerminalRecord;

use super::Terminals;

/// How long a terminal or room is kept, with the caches on (CACHE_ENABLED).
pub(super) const KEPT_FOR: Duration = Duration::from_secs(15 * 60);

pub(super) struct Kept {
    terminals: Recent<TerminalRecord>,
    rooms: Recent<RoomRecord>,
}

impl Kept {
    /// Keeping for `ttl` (zero: nothing is kept, every request reads).
    pub(super) fn new(ttl: Duration) -> Self {
        Self {
            terminals: Recent::new(Cache::Terminal, ttl),
            rooms: Recent::new(Cache::Room, ttl),
        }
    }
}

fn key(tenant_id: &str, id: &str) -> String {
    format!("{tenant_id}/{id}")
}

impl Terminals {
    pub(super) fn kept_terminal(
        &self,
        tenant_id: &str,
        terminal_id: &str,
    ) -> Option<TerminalRecord> {
        self.kept.terminals.get(&key(tenant_id, terminal_id))
    }

    /// The terminal as stored now, kept for the next request.
    pub(super) async fn read_terminal(
        &self,
        tenant_id: &str,
        terminal_id: &str,
    ) -> Result<Option<TerminalRecord>, StoreError> {
        let read = self.terminals.get(tenant_id, terminal_id).await?;
        self.kept
            .terminals
            .remember(key(tenant_id, terminal_id), read.as_ref());
        Ok(read)
    }

    /// Forgets a terminal known to have changed.
    pub(super) fn forget_terminal(&self, tenant_id: &str, terminal_id: &str) {
        self.kept.terminals.forget(&key(tenant_id, terminal_id));
    }

    pub(super) fn kept_room(&self, tenant_id: &str, room_id: &str) -> Option<RoomRecord> {
        self.kept.rooms.get(&key(tenant_id, room_id))
    }

    /// The room as stored now (`None`: archived), kept for the next request.
    pub(super) async fn read_room(
        &self,
        tenant_id: &str,
        room_id: &str,
    ) -> Result<Option<RoomRecord>, StoreError> {
        let read = self.rooms.get(tenant_id, room_id).await?;
        self.kept
            .rooms
            .remember(key(tenant_id, room_id), read.as_ref());
        Ok(read)
    }

    /// Forgets a room known to have changed.
    pub(super) fn forget_room(&self, tenant_id: &str, room_id: &str) {
        self.kept.rooms.forget(&key(tenant_id, room_id));
    }
}
