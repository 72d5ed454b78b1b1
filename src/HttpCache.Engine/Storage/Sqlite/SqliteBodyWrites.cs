using System.ComponentModel;
using System.Diagnostics;

namespace HttpCache.Engine.Storage.Sqlite;

/// <summary>
/// The SQL of streamed bodies: registering a write, finishing or abandoning it, the body files a transaction left
/// dead, and cleaning up after writers that died. The body itself is a file (<see cref="SqliteBodyFiles"/>, schema 7);
/// entries streamed as chunks by schema 3 to 6 are still read (<see cref="Chunks"/>) and cleaned up.
/// </summary>
/// <remarks>
/// <para>
/// The invariant every statement keeps: a body file (or an older write's chunks) exists only while its write is in
/// <c>pending_writes</c> or an entry row points at it, but for the moment between a transaction that stops pointing
/// at it and the file's deletion right after that commits. A write registers itself before it creates its file; the
/// commit removes the pending row and points the entry at the file in one transaction; abandoning and cleaning up
/// remove the pending row, then the file; the triggers record an entry's file in <c>dead_bodies</c> when the entry
/// goes or is replaced, and the store takes those ids in the same transaction and deletes the files once it commits.
/// So a file nobody points at is provably garbage: one a crash left between a commit and a deletion is swept
/// when a store next opens the database (<see cref="SqliteBodyFiles.SweepOrphans"/>).
/// </para>
/// <para>
/// A write whose process crashed stays pending. It is taken for abandoned, and deleted with its file, when
/// it has been pending for longer than <see cref="AbandonedAfter"/>, or, when a store opens the file, when its
/// owner (machine, process id and process start time) is a process of this machine that is no longer running.
/// A writer whose write was taken for abandoned while it was still alive (a download slower than a day, a
/// process in another PID namespace under the same host name) fails its commit: its body is not stored, and
/// nothing is damaged.
/// </para>
/// </remarks>
internal static class SqliteBodyWrites
{
    /// <summary>How long a write may stay pending before any store takes it for abandoned.</summary>
    public static readonly TimeSpan AbandonedAfter = TimeSpan.FromDays(1);

    // Two process start times that differ by less than this are the same start (the clock that dates them moves).
    private static readonly TimeSpan StartTolerance = TimeSpan.FromSeconds(5);

    private const string BeginSql = "INSERT INTO pending_writes (key, owner, started_at) VALUES ($key, $owner, $startedAt) RETURNING id";

    private const string FinishSql = "DELETE FROM pending_writes WHERE id = $writeId";
    private const string DeleteChunksSql = "DELETE FROM body_chunks WHERE write_id = $writeId";
    private const string ChunksSql = "SELECT rowid, seq, length(data) FROM body_chunks WHERE write_id = $writeId ORDER BY seq";
    private const string TakeDeadBodiesSql = "DELETE FROM dead_bodies RETURNING write_id";
    private const string AnyDeadBodySql = "SELECT 1 FROM dead_bodies LIMIT 1";

    private const string StalePendingSql = "SELECT id, owner, started_at FROM pending_writes WHERE started_at < $cutoff";
    private const string AllPendingSql = "SELECT id, owner, started_at FROM pending_writes";
    private const string ReapSql = "DELETE FROM pending_writes WHERE id = $writeId AND started_at = $startedAt";

    private const string OrphanCondition = """
        NOT EXISTS (SELECT 1 FROM pending_writes p WHERE p.id = c.write_id)
        AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.write_id = c.write_id)
        """;

    private const string AnyOrphanSql = $"SELECT 1 FROM body_chunks c WHERE {OrphanCondition} LIMIT 1";
    private const string DeleteOrphansSql = $"DELETE FROM body_chunks WHERE write_id IN (SELECT c.write_id FROM body_chunks c WHERE {OrphanCondition})";

    private static readonly Lazy<(string Machine, int Pid, long StartTicks)> ThisProcess = new(() =>
    {
        long start;
        try
        {
            using var process = Process.GetCurrentProcess();
            start = process.StartTime.ToUniversalTime().Ticks;
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            start = 0;
        }

        return (Environment.MachineName, Environment.ProcessId, start);
    });

    /// <summary>How this process names itself as the owner of its writes: machine, process id, start time (UTC ticks).</summary>
    public static string OwnerOfThisProcess => $"{ThisProcess.Value.Machine}|{ThisProcess.Value.Pid}|{ThisProcess.Value.StartTicks}";

    /// <summary>Registers a new write (after cleaning up writes pending for too long) and returns its id.</summary>
    public static long Begin(PooledConnection connection, SqliteBodyFiles files, string key, DateTimeOffset now)
    {
        CleanUp(connection, files, now, atOpen: false);
        var command = connection.Command(BeginSql);
        command.Parameters.AddWithValue("$key", key);
        command.Parameters.AddWithValue("$owner", OwnerOfThisProcess);
        command.Parameters.AddWithValue("$startedAt", now.UtcTicks);
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>Inside the commit's transaction: the write stops being pending; false when it no longer was.</summary>
    public static bool Finish(PooledConnection connection, long writeId)
    {
        var command = connection.Command(FinishSql);
        command.Parameters.AddWithValue("$writeId", writeId);
        return command.ExecuteNonQuery() == 1;
    }

    /// <summary>
    /// <paramref name="work"/> in a write transaction that also takes the body files it left dead (entries it removed
    /// or replaced); they are deleted once it commits. Every write that can remove or replace an entry goes through here.
    /// </summary>
    public static T InWriteTransactionFreeingBodies<TState, T>(PooledConnection connection, SqliteBodyFiles files, TState state, Func<PooledConnection, TState, T> work)
    {
        var (result, dead) = connection.InWriteTransaction((state, work), static (c, s) => (s.work(c, s.state), TakeDeadBodies(c)));
        if (dead is not null)
        {
            files.Delete(dead);
        }

        return result;
    }

    private static List<long>? TakeDeadBodies(PooledConnection connection)
    {
        List<long>? dead = null;
        using var reader = connection.Command(TakeDeadBodiesSql).ExecuteReader();
        while (reader.Read())
        {
            (dead ??= []).Add(reader.GetInt64(0));
        }

        return dead;
    }

    /// <summary>Deletes a write's chunks (an older version's write: the caller is in a transaction, or it is one statement).</summary>
    public static void DeleteChunks(PooledConnection connection, long writeId)
    {
        var command = connection.Command(DeleteChunksSql);
        command.Parameters.AddWithValue("$writeId", writeId);
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Gives up a write its writer never committed, once its file is deleted (first, so that it never outlives the
    /// pending row): the row goes, unless a cleanup took it already. Should the row stay (the database locked past the
    /// busy timeout, the store closed), a later cleanup deletes it.
    /// </summary>
    public static void Abandon(PooledConnection connection, long writeId) =>
        connection.InWriteTransaction(writeId, static (c, writeId) => Finish(c, writeId));

    /// <summary>A streamed entry's chunks in order, as rowids and lengths, checked to be numbered 0, 1, 2… without a gap.</summary>
    public static List<(long RowId, long Length)> Chunks(PooledConnection connection, long writeId)
    {
        var command = connection.Command(ChunksSql);
        command.Parameters.AddWithValue("$writeId", writeId);
        var chunks = new List<(long, long)>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (reader.GetInt64(1) != chunks.Count)
            {
                throw new CacheStoreException(
                    $"The chunks of streamed write {writeId} are not numbered in sequence (chunk {chunks.Count} is missing).",
                    failure: CacheStoreFailure.Corrupt);
            }

            chunks.Add((reader.GetInt64(0), reader.GetInt64(2)));
        }

        return chunks;
    }

    /// <summary>
    /// Deletes writes pending for longer than <see cref="AbandonedAfter"/> (their rows, then their files), and with
    /// <paramref name="atOpen"/> also writes whose owning process is gone, chunks and body files that nothing points
    /// at, and files recorded dead but not deleted. Looks first without the write lock, so the common case (nothing to
    /// do) costs one read; each deletion is checked again under the lock. Returns how many writes were deleted.
    /// </summary>
    public static int CleanUp(PooledConnection connection, SqliteBodyFiles files, DateTimeOffset now, bool atOpen)
    {
        var cutoff = (now - AbandonedAfter).UtcTicks;
        var abandoned = new List<(long Id, long StartedAt)>();
        var command = connection.Command(atOpen ? AllPendingSql : StalePendingSql);
        if (!atOpen)
        {
            command.Parameters.AddWithValue("$cutoff", cutoff);
        }

        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var startedAt = reader.GetInt64(2);
                if (startedAt < cutoff || OwnerIsGone(reader.GetString(1)))
                {
                    abandoned.Add((reader.GetInt64(0), startedAt));
                }
            }
        }

        var orphans = atOpen && connection.Command(AnyOrphanSql).ExecuteScalar() is not null;
        var reaped = new List<long>();
        if (abandoned.Count > 0 || orphans)
        {
            connection.InWriteTransaction((abandoned, orphans, reaped), static (c, s) =>
            {
                foreach (var (id, startedAt) in s.abandoned)
                {
                    // Still the same pending write: not committed or abandoned meanwhile.
                    var reap = c.Command(ReapSql);
                    reap.Parameters.AddWithValue("$writeId", id);
                    reap.Parameters.AddWithValue("$startedAt", startedAt);
                    if (reap.ExecuteNonQuery() == 1)
                    {
                        // An older version's write has chunks; this version's has a file, deleted once this commits.
                        DeleteChunks(c, id);
                        s.reaped.Add(id);
                    }
                }

                if (s.orphans)
                {
                    c.Execute(DeleteOrphansSql);
                }

                return 0;
            });
            files.Delete(reaped);
        }

        if (atOpen)
        {
            if (connection.Command(AnyDeadBodySql).ExecuteScalar() is not null)
            {
                // Recorded by a statement run outside a store (by hand): taken, and their files deleted.
                InWriteTransactionFreeingBodies(connection, files, 0, static (_, _) => 0);
            }

            files.SweepOrphans(connection);
        }

        return reaped.Count;
    }

    /// <summary>
    /// True only when the owner is provably not running: a process of this machine whose id is free, or taken by
    /// a process that started at another time. Another machine's writes, or a process that cannot be inspected,
    /// are never judged (they go after <see cref="AbandonedAfter"/>).
    /// </summary>
    internal static bool OwnerIsGone(string owner)
    {
        var parts = owner.Split('|');
        if (parts.Length != 3
            || !string.Equals(parts[0], ThisProcess.Value.Machine, StringComparison.OrdinalIgnoreCase)
            || !int.TryParse(parts[1], out var pid)
            || !long.TryParse(parts[2], out var startTicks))
        {
            return false;
        }

        if (pid == ThisProcess.Value.Pid)
        {
            // This process (other stores in it may be writing), or an earlier one that had the same id.
            return !SameStart(startTicks, ThisProcess.Value.StartTicks);
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return !SameStart(startTicks, process.StartTime.ToUniversalTime().Ticks);
        }
        catch (ArgumentException)
        {
            // No process has this id.
            return true;
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static bool SameStart(long a, long b) => Math.Abs(a - b) <= StartTolerance.Ticks;
}

/// <summary>
/// One streamed write into a <see cref="SqliteCacheStore"/>: the body goes into its file as it arrives (through the
/// file's own 64 KiB buffer, never gathered in memory), and the commit makes it an entry in one transaction. Calls
/// are serialized by a lock, so a dispose from another thread (the engine's abandon) waits for a write in progress
/// instead of closing the file under it.
/// </summary>
internal sealed class SqliteBodyWriter : ICacheBodyWriter
{
    private readonly SqliteCacheStore _store;
    private readonly SqliteBodyFiles _files;
    private CacheRecord _record;
    private readonly long _writeId;
    private readonly StoreLimits? _limits;
    private readonly object _gate = new();
    private FileStream? _file;
    private long _length;
    private int _state; // 0 writing, 1 committed, 2 abandoned

    public SqliteBodyWriter(SqliteCacheStore store, SqliteBodyFiles files, CacheRecord record, long writeId, FileStream file, StoreLimits? limits)
    {
        _store = store;
        _files = files;
        _record = record;
        _writeId = writeId;
        _file = file;
        _limits = limits;
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        try
        {
            lock (_gate)
            {
                Write(data.Span);
            }

            return ValueTask.CompletedTask;
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    public Task CommitAsync(byte[]? metadata = null, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        try
        {
            lock (_gate)
            {
                ThrowIfDone();
                try
                {
                    // Closed, not synced: a read checks length and checksum, so a file a power loss cut is found damaged.
                    CloseFile();
                }
                catch (IOException ex)
                {
                    throw Unwritable(ex);
                }

                if (metadata is not null)
                {
                    _record = _record.WithMetadata(metadata);
                }

                _store.Execute(this, static (connection, writer) =>
                {
                    SqliteCacheStore.CommitStreamed(connection, writer._files, writer._record, writer._writeId, writer._length, writer._limits);
                    return 0;
                });
                _state = 1;
            }

            return Task.CompletedTask;
        }
        catch (Exception ex)
        {
            return Task.FromException(ex);
        }
    }

    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_state == 0)
            {
                _state = 2;
                CloseUnwanted();
                try
                {
                    _store.Execute(_writeId, static (connection, writeId) =>
                    {
                        SqliteBodyWrites.Abandon(connection, writeId);
                        return 0;
                    });
                }
                catch (Exception ex) when (ex is CacheStoreException or ObjectDisposedException)
                {
                    // Locked past the timeout, or the store is closed: the write stays pending, and the cleanup of a
                    // later store (this process gone, or a day later) deletes it.
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    private void Write(ReadOnlySpan<byte> data)
    {
        ThrowIfDone();
        _length += data.Length;
        if (_file is null)
        {
            // Too large: nothing more is written.
            return;
        }

        if (_limits is not null && StoreLimitsRules.TooLargeAlone(_limits, _record.Metadata.Length + _length))
        {
            // It can never be stored: nothing more is written, and what was written goes now. The commit then
            // removes the entry this write would have replaced, as SetAsync does for an entry too large.
            CloseUnwanted();
            return;
        }

        try
        {
            _file.Write(data);
        }
        catch (IOException ex)
        {
            throw Unwritable(ex);
        }
    }

    private CacheStoreException Unwritable(IOException ex) => new(
        $"The body file '{_files.PathOf(_writeId)}' of the HTTP cache database '{_store.Location}' cannot be written (a full disk?): {ex.Message}",
        ex,
        CacheStoreFailure.Unwritable);

    private void CloseFile()
    {
        var file = _file;
        _file = null;
        file?.Dispose();
    }

    // The file of a body that will not be stored: closed, and deleted.
    private void CloseUnwanted()
    {
        try
        {
            CloseFile();
        }
        catch (IOException)
        {
            // What it could not flush (a full disk) is not wanted anyway: the handle is closed all the same.
        }

        _files.Delete(_writeId);
    }

    private void ThrowIfDone()
    {
        if (_state != 0)
        {
            throw new InvalidOperationException(_state == 1 ? "The streamed entry was already committed." : "The streamed write was abandoned.");
        }
    }
}
