//! Where a watched cgroup's `WatchState` lives: its entry of the direct-mapped watch table
//! when no other cgroup holds that entry, else the watch hash map (see `WatchEntry`). The
//! programs look in the table first, so a state is never in both places for long, and never
//! in neither while the cgroup is watched.

use super::Observer;
use super::loader::{ObserveError, map_err, removed_or_absent};
use aya::maps::{Array, HashMap};
use enforcer_common::{WatchEntry, WatchState, watch_table_index};

impl Observer {
    /// Puts the watch of `cgroup_id` in place (replacing its earlier one).
    pub(super) fn place_watch(
        &mut self,
        cgroup_id: u64,
        watch: WatchState,
    ) -> Result<(), ObserveError> {
        let index = watch_table_index(cgroup_id, self.watch_table_mask);
        let mut table = self.map_mut_as::<Array<_, WatchEntry>>("WATCH_TABLE")?;
        let holder = table.get(&index, 0).map_err(map_err("WATCH_TABLE"))?;
        if holder.cgroup_id == 0 || holder.cgroup_id == cgroup_id {
            // The table first: from then on the programs read this entry, and the hash map's
            // (from before the entry was free) can go.
            table
                .set(index, WatchEntry { cgroup_id, watch }, 0)
                .map_err(map_err("WATCH_TABLE"))?;
            self.remove_hashed_watch(cgroup_id)
        } else {
            self.map_mut_as::<HashMap<_, u64, WatchState>>("WATCHED")?
                .insert(cgroup_id, watch, 0)
                .map_err(map_err("WATCHED"))
        }
    }

    /// Removes the watch of `cgroup_id`, wherever it is.
    pub(super) fn remove_watch(&mut self, cgroup_id: u64) -> Result<(), ObserveError> {
        let index = watch_table_index(cgroup_id, self.watch_table_mask);
        let mut table = self.map_mut_as::<Array<_, WatchEntry>>("WATCH_TABLE")?;
        if table
            .get(&index, 0)
            .map_err(map_err("WATCH_TABLE"))?
            .cgroup_id
            == cgroup_id
        {
            table
                .set(index, WatchEntry::default(), 0)
                .map_err(map_err("WATCH_TABLE"))?;
        }
        self.remove_hashed_watch(cgroup_id)
    }

    /// Every cgroup with a watch in the table or the hash map (once each, if the two are
    /// kept apart). The session keeps the list of watched cgroups; this is for tests.
    #[cfg(test)]
    pub(super) fn watches_in_maps(&self) -> Result<Vec<u64>, ObserveError> {
        let table: Array<&aya::maps::MapData, WatchEntry> =
            Array::try_from(self.map("WATCH_TABLE")?).map_err(map_err("WATCH_TABLE"))?;
        let mut ids = Vec::new();
        for entry in table.iter() {
            let entry = entry.map_err(map_err("WATCH_TABLE"))?;
            if entry.cgroup_id != 0 {
                ids.push(entry.cgroup_id);
            }
        }
        let hash: HashMap<&aya::maps::MapData, u64, WatchState> =
            HashMap::try_from(self.map("WATCHED")?).map_err(map_err("WATCHED"))?;
        for id in hash.keys() {
            ids.push(id.map_err(map_err("WATCHED"))?);
        }
        Ok(ids)
    }

    /// The cgroup holding table entry `index` (0: none).
    #[cfg(test)]
    pub(super) fn watch_table_holder(&mut self, index: u32) -> Result<u64, ObserveError> {
        let table = self.map_mut_as::<Array<_, WatchEntry>>("WATCH_TABLE")?;
        Ok(table
            .get(&index, 0)
            .map_err(map_err("WATCH_TABLE"))?
            .cgroup_id)
    }

    fn remove_hashed_watch(&mut self, cgroup_id: u64) -> Result<(), ObserveError> {
        let mut hash: HashMap<_, u64, WatchState> = self.map_mut_as("WATCHED")?;
        // Not there: it was in the table.
        removed_or_absent("WATCHED", hash.remove(&cgroup_id))
    }
}
