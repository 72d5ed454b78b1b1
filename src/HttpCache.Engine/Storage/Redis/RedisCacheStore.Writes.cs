using HttpCache.Engine.Http;
using StackExchange.Redis;

namespace HttpCache.Engine.Storage.Redis;

// Writes: storing an entry with its index and variant set, removal, new expiration clocks, recorded accesses,
// and the bounds (least-recently-used eviction).
public sealed partial class RedisCacheStore
{
    /// <inheritdoc />
    /// <remarks>
    /// Two round trips, each step atomic on its own slot: the key's index (which also reports the primary key
    /// it was under before) and the entry with its variant set; then the limits' bookkeeping (and the old
    /// variant, when the key moved to another primary key); then, when a bound is crossed, eviction. An
    /// entry over <see cref="StoreLimits.MaxBytes"/> on its own, or whose keep-until has passed, is not
    /// stored, and an older entry with its key is removed.
    /// </remarks>
    public async Task SetAsync(CacheRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        cancellationToken.ThrowIfCancellationRequested();
        EnsureUsable(_keys.Index(record.Key));
        EnsureUsable(_keys.Entry(record.PrimaryKey, record.Key));
        try
        {
            if (await WriteEntryAsync(record, cancellationToken).ConfigureAwait(false) is { } written)
            {
                var totals = await RecordWrittenAsync([written], cancellationToken).ConfigureAwait(false);
                await EnforceLimitsAsync(totals.Entries, totals.Bytes, record.Key, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Pipelined: every entry's first round trip is sent before any reply is awaited, and once they are answered
    /// the limits' bookkeeping of them all goes in one script call (it lives on one slot), so a batch costs about
    /// the round trips of one entry, whichever servers of a Cluster its keys live on. Each entry is written as
    /// <see cref="SetAsync"/> writes it (the same scripts, the entry atomic on its slot); the bounds are then enforced once for the batch, never evicting the
    /// last entry written. A later record of a key replaces an earlier one, as written one by one. There is no
    /// transaction across slots: when some entries fail, the others are still written, and the call then
    /// throws a <see cref="CacheStoreException"/> for the first failure that says how many failed.
    /// </remarks>
    public async Task SetManyAsync(IReadOnlyList<CacheRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (records.Count <= 1)
        {
            if (records.Count == 1)
            {
                await SetAsync(records[0], cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        var batch = LatestPerKey(records);
        var failures = new List<Exception>();
        (long Entries, long Bytes)? most = null;
        string? lastWritten = null;
        for (var start = 0; start < batch.Count;)
        {
            // A wave's commands are all in flight at once, and each must be answered within the command timeout:
            // the waves' bytes are bounded so a batch of large bodies cannot push its last replies past it.
            var end = start;
            long bytes = 0;
            do
            {
                bytes += (long)batch[end].Metadata.Length + batch[end].Body.Length;
                end++;
            }
            while (end < batch.Count && bytes < MaxBytesInFlight);

            var writes = new Task<Written?>[end - start];
            for (var i = start; i < end; i++)
            {
                // Runs up to its first await: this sends the entry's first round trip.
                writes[i - start] = WriteEntryOfBatchAsync(batch[i], cancellationToken);
                BackgroundWork.GiveWay();
            }

            try
            {
                await Task.WhenAll(writes).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Each write's outcome is read below.
            }

            var written = new List<Written>(writes.Length);
            foreach (var write in writes)
            {
                if (!write.IsCompletedSuccessfully)
                {
                    failures.Add(write.Exception?.InnerException ?? new OperationCanceledException(cancellationToken));
                }
                else if (write.Result is { } entry)
                {
                    written.Add(entry);
                }
            }

            if (written.Count > 0)
            {
                try
                {
                    var totals = await RecordWrittenAsync(written, cancellationToken).ConfigureAwait(false);
                    lastWritten = written[^1].Record.Key;
                    most = (Math.Max(most?.Entries ?? 0, totals.Entries), Math.Max(most?.Bytes ?? 0, totals.Bytes));
                }
                catch (Exception ex) when (IsRedisFailure(ex))
                {
                    failures.Add(Translate(ex));
                }
            }

            start = end;
        }

        if (failures.Count > 0 && failures.All(f => f is OperationCanceledException))
        {
            cancellationToken.ThrowIfCancellationRequested();
        }

        if (most is { } reached && lastWritten is not null)
        {
            // The totals of the last reply may be below the batch's (another process evicted meanwhile); the largest
            // seen only decides whether to look: the eviction reads the totals again with its candidates.
            try
            {
                await EnforceLimitsAsync(reached.Entries, reached.Bytes, lastWritten, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsRedisFailure(ex))
            {
                failures.Add(Translate(ex));
            }
        }

        if (failures.Count == 0)
        {
            return;
        }

        var first = failures.FirstOrDefault(f => f is not OperationCanceledException) ?? failures[0];
        if (failures.Count == 1)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        }

        throw new CacheStoreException(
            $"{first.Message} ({failures.Count} of {batch.Count} writes of a batch failed; the others landed.)",
            first,
            first is CacheStoreException { Failure: var failure } ? failure : CacheStoreFailure.Other);
    }

    // Bytes of bodies and metadata a batch sends before it waits for their replies.
    private const long MaxBytesInFlight = 4L * 1024 * 1024;

    // The last record of each key, in the order of those last records.
    private static List<CacheRecord> LatestPerKey(IReadOnlyList<CacheRecord> records)
    {
        var last = new Dictionary<string, int>(records.Count, StringComparer.Ordinal);
        for (var i = 0; i < records.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(records[i], nameof(records));
            last[records[i].Key] = i;
        }

        var latest = new List<CacheRecord>(last.Count);
        for (var i = 0; i < records.Count; i++)
        {
            if (last[records[i].Key] == i)
            {
                latest.Add(records[i]);
            }
        }

        return latest;
    }

    // One entry of a batch, its failure translated as SetAsync's would be.
    private async Task<Written?> WriteEntryOfBatchAsync(CacheRecord record, CancellationToken cancellationToken)
    {
        EnsureUsable(_keys.Index(record.Key));
        EnsureUsable(_keys.Entry(record.PrimaryKey, record.Key));
        try
        {
            return await WriteEntryAsync(record, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }
    }

    // An entry whose hash, variant set and index are written, and the removal of its old variant when its key moved to
    // another primary key: what its bookkeeping needs.
    private readonly record struct Written(CacheRecord Record, long Size, Task Moving);

    // Writes one entry with its index, or removes an older entry of its key when the record is not to be kept (null
    // then). The bookkeeping follows in RecordWrittenAsync, once the entry is there.
    private async Task<Written?> WriteEntryAsync(CacheRecord record, CancellationToken cancellationToken)
    {
        var size = (long)record.Metadata.Length + record.Body.Length;
        var keep = KeepMilliseconds(record.KeepUntil);
        if (!Admits(size) || keep <= 0)
        {
            await RemoveKeysAsync([record.Key], cancellationToken).ConfigureAwait(false);
            return null;
        }

        // The index and the entry first, together; the bookkeeping only once both are there, so an evictor
        // (in any process) that finds the key in it also finds the entry to remove.
        var indexing = Db.StringSetAndGetAsync(
            _keys.Index(record.Key), record.PrimaryKey, keep is { } ms ? TimeSpan.FromMilliseconds(ms) : null, keepTtl: false, When.Always);
        var writing = Db.ScriptEvaluateAsync(
            RedisScripts.Set, [_keys.Entry(record.PrimaryKey, record.Key), _keys.Variants(record.PrimaryKey)], SetArguments(record, size, keep));
        await Task.WhenAll(indexing, writing).WaitAsync(cancellationToken).ConfigureAwait(false);

        Task moving = Task.CompletedTask;
        var previous = await indexing.ConfigureAwait(false);
        if (!previous.IsNull && (string?)previous is { } oldPrimaryKey && !string.Equals(oldPrimaryKey, record.PrimaryKey, StringComparison.Ordinal))
        {
            // The key moved to another primary key: its old variant goes.
            moving = RemoveFromVariantSetAsync(oldPrimaryKey, [record.Key]);
        }

        return new Written(record, size, moving);
    }

    // The limits' bookkeeping of written entries: one script call for all of them (their bookkeeping shares one slot),
    // rather than one each, which on the server costs a script's own overhead per entry. Returns the namespace's totals
    // after it, for the eviction.
    private async Task<(long Entries, long Bytes)> RecordWrittenAsync(IReadOnlyList<Written> written, CancellationToken cancellationToken)
    {
        var arguments = new RedisValue[written.Count * 4];
        for (var i = 0; i < written.Count; i++)
        {
            var record = written[i].Record;
            arguments[4 * i] = record.Key;
            arguments[(4 * i) + 1] = written[i].Size;
            arguments[(4 * i) + 2] = LruScore(record.LastAccessedAt ?? record.CreatedAt);
            arguments[(4 * i) + 3] = record.KeepUntil is { } keepUntil ? keepUntil.ToUnixTimeMilliseconds() : RedisValue.EmptyString;
        }

        var lru = Db.ScriptEvaluateAsync(RedisScripts.LruRecord, _lruKeys, arguments);
        await Task.WhenAll(written.Select(w => w.Moving).Append(lru)).WaitAsync(cancellationToken).ConfigureAwait(false);
        return Totals(await lru.ConfigureAwait(false));
    }

    /// <inheritdoc />
    public async Task<int> RemoveAsync(CacheQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            var doomed = await FindAsync(query, cancellationToken).ConfigureAwait(false);
            if (doomed.Count == 0)
            {
                return 0;
            }

            return await RemoveEntriesAsync(doomed.Select(i => (i.Key, i.PrimaryKey)).ToList(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }
    }

    /// <inheritdoc />
    /// <remarks>The entry's TTL (and its index's and variant set's) follows the new keep-until.</remarks>
    public async Task<bool> UpdateExpirationAsync(string key, DateTimeOffset? expiresAt, DateTimeOffset? keepUntil, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();
        var index = _keys.Index(key);
        EnsureUsable(index);
        try
        {
            var found = await Db.StringGetAsync(index).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (found.IsNull)
            {
                return false;
            }

            var primaryKey = (string)found!;
            var entry = _keys.Entry(primaryKey, key);
            EnsureUsable(entry);
            var keep = KeepMilliseconds(keepUntil);
            var updated = await Db.ScriptEvaluateAsync(
                    RedisScripts.UpdateExpiration,
                    [entry, _keys.Variants(primaryKey)],
                    [_keys.EntryPrefix(primaryKey), Ticks(expiresAt), Ticks(keepUntil), keep is { } ms ? ms : RedisValue.EmptyString])
                .WaitAsync(cancellationToken).ConfigureAwait(false);
            if ((int)updated == 0)
            {
                return false;
            }

            if (keep <= 0)
            {
                // Redis deleted the entry at once: its index and bookkeeping go with it.
                await Task.WhenAll(
                    Db.ScriptEvaluateAsync(RedisScripts.DeleteIndexIfOwned, [index], [primaryKey]),
                    Db.ScriptEvaluateAsync(RedisScripts.LruForget, _lruKeys, [key])).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await Task.WhenAll(
                    Db.KeyExpireAsync(index, keep is { } keepMs ? TimeSpan.FromMilliseconds(keepMs) : null),
                    Db.ScriptEvaluateAsync(RedisScripts.LruKeep, _lruKeys,
                        [key, keepUntil is { } k ? k.ToUnixTimeMilliseconds() : RedisValue.EmptyString])).WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            return true;
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }
    }

    /// <inheritdoc />
    public async Task RecordAccessAsync(IReadOnlyCollection<EntryAccess> accesses, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(accesses);
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (accesses.Count == 0)
        {
            return;
        }

        var list = accesses.ToList();
        foreach (var access in list)
        {
            EnsureUsable(_keys.Index(access.Key));
        }

        try
        {
            var primaryKeys = await Task.WhenAll(list.Select(a => Db.StringGetAsync(_keys.Index(a.Key))))
                .WaitAsync(cancellationToken).ConfigureAwait(false);
            var updates = new List<(string Key, Task<RedisResult> Update)>(list.Count);
            for (var i = 0; i < list.Count; i++)
            {
                if (primaryKeys[i].IsNull)
                {
                    continue;
                }

                var access = list[i];
                var entry = _keys.Entry((string)primaryKeys[i]!, access.Key);
                EnsureUsable(entry);
                updates.Add((access.Key, Db.ScriptEvaluateAsync(RedisScripts.RecordAccess, [entry], [access.Hits, access.LastAccessedAt.UtcTicks])));
            }

            await Task.WhenAll(updates.Select(u => u.Update)).WaitAsync(cancellationToken).ConfigureAwait(false);
            var touches = new List<RedisValue>(updates.Count * 2);
            foreach (var (key, update) in updates)
            {
                var lastAccess = await update.ConfigureAwait(false);
                if (!lastAccess.IsNull)
                {
                    touches.Add(key);
                    touches.Add(LruScore(new DateTimeOffset((long)lastAccess, TimeSpan.Zero)));
                }
            }

            if (touches.Count > 0)
            {
                await Db.ScriptEvaluateAsync(RedisScripts.LruTouch, _lruKeys, [.. touches]).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }
    }

    private bool Admits(long size) => Limits.MaxBytes is not { } maxBytes || size <= maxBytes;

    private bool Within(long entries, long bytes) =>
        (Limits.MaxEntries is not { } maxEntries || entries <= maxEntries) && (Limits.MaxBytes is not { } maxBytes || bytes <= maxBytes);

    // Null: no TTL. Zero or less: the keep-until has passed.
    private long? KeepMilliseconds(DateTimeOffset? keepUntil) =>
        keepUntil is { } k ? (long)Math.Ceiling((k - _time.GetUtcNow()).TotalMilliseconds) : null;

    private RedisValue[] SetArguments(CacheRecord record, long size, long? keep)
    {
        var values = new List<RedisValue>(32)
        {
            RedisKeyLayout.Segment(record.Key),
            keep is { } ms ? ms : RedisValue.EmptyString,
            _keys.EntryPrefix(record.PrimaryKey),
            RedisScripts.Key, record.Key,
            RedisScripts.PrimaryKey, record.PrimaryKey,
            RedisScripts.Method, record.Method,
            RedisScripts.Uri, record.Uri,
            RedisScripts.Status, record.StatusCode,
            RedisScripts.CreatedAt, record.CreatedAt.UtcTicks,
            RedisScripts.Size, size,
            RedisScripts.Hits, record.HitCount,
            RedisScripts.Metadata, record.Metadata,
            RedisScripts.Body, record.Body,
        };
        if (record.ExpiresAt is { } expiresAt)
        {
            values.Add(RedisScripts.ExpiresAt);
            values.Add(expiresAt.UtcTicks);
        }

        if (record.KeepUntil is { } keepUntil)
        {
            values.Add(RedisScripts.KeepUntil);
            values.Add(keepUntil.UtcTicks);
        }

        if (record.LastAccessedAt is { } lastAccessedAt)
        {
            values.Add(RedisScripts.LastAccessedAt);
            values.Add(lastAccessedAt.UtcTicks);
        }

        return [.. values];
    }

    private async Task<int> RemoveKeysAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var primaryKeys = await Task.WhenAll(keys.Select(k => Db.StringGetAsync(_keys.Index(k)))).WaitAsync(cancellationToken).ConfigureAwait(false);
        var found = new List<(string Key, string PrimaryKey)>(keys.Count);
        var lost = new List<string>();
        for (var i = 0; i < keys.Count; i++)
        {
            if (primaryKeys[i].IsNull)
            {
                lost.Add(keys[i]);
            }
            else
            {
                found.Add((keys[i], (string)primaryKeys[i]!));
            }
        }

        // Keys without an index have expired: only their bookkeeping is left.
        var removed = await RemoveEntriesAsync(found, cancellationToken).ConfigureAwait(false);
        if (lost.Count > 0)
        {
            await ForgetAsync(lost).WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return removed;
    }

    // Removes entries (per primary key, one script each), their indexes and their bookkeeping; returns how
    // many entries were there to remove.
    private async Task<int> RemoveEntriesAsync(IReadOnlyList<(string Key, string PrimaryKey)> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return 0;
        }

        var removals = entries
            .GroupBy(e => e.PrimaryKey, StringComparer.Ordinal)
            .Select(g => RemoveFromVariantSetAsync(g.Key, g.Select(e => e.Key)))
            .ToList();
        var indexes = entries
            .Select(e => Db.ScriptEvaluateAsync(RedisScripts.DeleteIndexIfOwned, [_keys.Index(e.Key)], [e.PrimaryKey]))
            .ToList();
        var forget = ForgetAsync(entries.Select(e => e.Key).ToList());
        await Task.WhenAll(removals.Cast<Task>().Concat(indexes).Append(forget)).WaitAsync(cancellationToken).ConfigureAwait(false);

        var removed = 0;
        foreach (var removal in removals)
        {
            removed += await removal.ConfigureAwait(false);
        }

        return removed;
    }

    private async Task<int> RemoveFromVariantSetAsync(string primaryKey, IEnumerable<string> keys)
    {
        var arguments = new List<RedisValue> { _keys.EntryPrefix(primaryKey) };
        arguments.AddRange(keys.Select(k => (RedisValue)RedisKeyLayout.Segment(k)));
        var removed = await Db.ScriptEvaluateAsync(RedisScripts.Remove, [_keys.Variants(primaryKey)], [.. arguments]).ConfigureAwait(false);
        return (int)removed;
    }

    // Drops keys from the limits' bookkeeping, in chunks so no script call gets a huge argument list.
    private async Task ForgetAsync(IReadOnlyList<string> keys)
    {
        for (var start = 0; start < keys.Count; start += ArgumentChunk)
        {
            var chunk = keys.Skip(start).Take(ArgumentChunk).Select(k => (RedisValue)k).ToArray();
            await Db.ScriptEvaluateAsync(RedisScripts.LruForget, _lruKeys, chunk).ConfigureAwait(false);
        }
    }

    // After a write: while the namespace is over a bound, evict least-recently-used entries (never the one
    // just written), then count them. Entries Redis expired by TTL are dropped from the bookkeeping first
    // and not counted as evictions. Other processes may write or evict meanwhile: each round reads the
    // totals and the candidates together, and a victim someone else removed first is not counted twice.
    private async Task EnforceLimitsAsync(long entries, long bytes, string justWritten, CancellationToken cancellationToken)
    {
        if (Within(entries, bytes))
        {
            return;
        }

        await ForgetExpiredAsync(cancellationToken).ConfigureAwait(false);
        long evicted = 0;
        for (var round = 0; round < MaxEvictionRounds; round++)
        {
            var snapshot = (RedisValue[]?)await Db.ScriptEvaluateAsync(RedisScripts.LruCandidates, _lruKeys, [EvictionBatch])
                .WaitAsync(cancellationToken).ConfigureAwait(false) ?? [];
            (entries, bytes) = ((long)snapshot[0], (long)snapshot[1]);
            var victims = new List<string>();
            for (var i = 2; i + 1 < snapshot.Length && !Within(entries, bytes); i += 2)
            {
                var key = (string)snapshot[i]!;
                if (string.Equals(key, justWritten, StringComparison.Ordinal))
                {
                    continue;
                }

                victims.Add(key);
                entries--;
                bytes -= (long)snapshot[i + 1];
            }

            if (victims.Count == 0)
            {
                break;
            }

            evicted += await RemoveKeysAsync(victims, cancellationToken).ConfigureAwait(false);
        }

        if (evicted > 0)
        {
            await Db.HashIncrementAsync(_keys.Counters, "evictions", evicted).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // Entries whose keep-until has passed and whose index Redis has dropped leave the bookkeeping.
    private async Task ForgetExpiredAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var due = await Db.SortedSetRangeByScoreAsync(_keys.Keep, double.NegativeInfinity, now, take: ArgumentChunk)
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        if (due.Length == 0)
        {
            return;
        }

        var exists = await Task.WhenAll(due.Select(k => Db.KeyExistsAsync(_keys.Index((string)k!)))).WaitAsync(cancellationToken).ConfigureAwait(false);
        var gone = due.Where((_, i) => !exists[i]).Select(k => (string)k!).ToList();
        if (gone.Count > 0)
        {
            await ForgetAsync(gone).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
