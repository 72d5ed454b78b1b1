using System.Diagnostics;
using System.Threading.Channels;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Http;

/// <summary>
/// Store writes taken off the request path. A durable write (an SQLite commit, a file rename, a Redis
/// round trip) costs more than a loopback GET, so a miss hands its record to one background writer and
/// answers at once. Until the write lands the record stays visible to lookups (<see cref="Pending"/>),
/// so an immediate repeat still hits. <see cref="DrainAsync"/> waits for everything queued so far:
/// listing, removing, resetting, invalidating and flushing drain first, so no queued write can
/// resurrect what they removed. A failed write is reported on the next request.
/// </summary>
/// <remarks>
/// The writer commits at most once per <see cref="FlushInterval"/>: a write after a quiet spell lands at once,
/// but under a stream of misses each commit takes everything queued meanwhile. One commit for many records
/// is what makes a store write cheap (an SQLite commit costs more than the rows in it), and waking the writer
/// for every miss would cost the request path a thread hand-off each time. The interval is real time, not
/// the session's clock: it paces the writer, it says nothing about freshness.
/// <para>
/// The queue is bounded (<see cref="DefaultMaxRecords"/> records and <see cref="DefaultMaxBytes"/> bytes, counted until
/// each write has landed): when misses arrive faster than the store takes them, <see cref="EnqueueAsync"/> waits for
/// room, which slows the callers down to the store's pace. A write is never dropped for want of room. A record larger
/// than the byte bound on its own is taken when the queue is empty.
/// </para>
/// </remarks>
internal sealed class WriteBehind
{
    private readonly ICacheStore store;
    private readonly Channel<Work> queue = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, Dictionary<string, CacheRecord>> pending = new(StringComparer.Ordinal);
    private readonly object gate = new();
    private readonly Task loop;
    private readonly int maxRecords;
    private readonly long maxBytes;
    private Failure? failure;
    private TaskCompletionSource flushNow = NewSignal();

    // Under gate: what is queued or being written, and the signal that wakes callers waiting for room.
    private int queuedRecords;
    private long queuedBytes;
    private TaskCompletionSource room = NewSignal();

    public WriteBehind(ICacheStore store, int maxRecords = DefaultMaxRecords, long maxBytes = DefaultMaxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecords, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        this.store = store;
        this.maxRecords = maxRecords;
        this.maxBytes = maxBytes;
        loop = Task.Run(RunAsync);
    }

    /// <summary>How many records may wait for the writer (or be in its current commit) before callers wait for room.</summary>
    public const int DefaultMaxRecords = 4096;

    /// <summary>How many bytes of bodies and metadata may wait for the writer before callers wait for room: 64 MiB.</summary>
    public const long DefaultMaxBytes = 64L * 1024 * 1024;

    /// <summary>
    /// Queues a write; once queued, the record is visible to <see cref="Pending"/>. Completes at once while the queue has
    /// room; otherwise when the writer has made room (or <paramref name="cancellationToken"/> fires: the record is then
    /// not queued, and the caller's operation is cancelled).
    /// </summary>
    public ValueTask EnqueueAsync(CacheRecord record, CancellationToken cancellationToken = default)
    {
        var size = SizeOf(record);
        bool admitted;
        lock (gate)
        {
            admitted = TryAdmit(record, size);
        }

        if (!admitted)
        {
            return WaitForRoomAsync(record, size, cancellationToken);
        }

        Send(record, size);
        return ValueTask.CompletedTask;
    }

    private async ValueTask WaitForRoomAsync(CacheRecord record, long size, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task signal;
            lock (gate)
            {
                if (TryAdmit(record, size))
                {
                    break;
                }

                signal = room.Task;
            }

            await signal.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        Send(record, size);
    }

    // Under gate. An empty queue takes any record, so one larger than the byte bound still goes through.
    private bool TryAdmit(CacheRecord record, long size)
    {
        if (queuedRecords > 0 && (queuedRecords >= maxRecords || queuedBytes + size > maxBytes))
        {
            return false;
        }

        queuedRecords++;
        queuedBytes += size;
        if (!pending.TryGetValue(record.PrimaryKey, out var variants))
        {
            pending[record.PrimaryKey] = variants = new Dictionary<string, CacheRecord>(StringComparer.Ordinal);
        }

        variants[record.Key] = record;
        return true;
    }

    private void Send(CacheRecord record, long size)
    {
        if (!queue.Writer.TryWrite(new Work(record, null)))
        {
            // The session is closing: write it now rather than lose it.
            try
            {
                store.SetAsync(record).GetAwaiter().GetResult();
            }
            finally
            {
                Forget([record]);
                Release(1, size);
            }
        }
    }

    // Room made by writes that landed (or failed, reported through TakeFailure): every waiting caller looks again.
    private void Release(int records, long bytes)
    {
        TaskCompletionSource woken;
        lock (gate)
        {
            queuedRecords -= records;
            queuedBytes -= bytes;
            woken = room;
            room = NewSignal();
        }

        woken.TrySetResult();
    }

    private static long SizeOf(CacheRecord record) => (long)record.Body.Length + record.Metadata.Length;

    /// <summary>The queued, not yet written, variants of a primary key.</summary>
    public IReadOnlyCollection<CacheRecord> Pending(string primaryKey)
    {
        lock (gate)
        {
            return pending.TryGetValue(primaryKey, out var variants) ? variants.Values.ToArray() : [];
        }
    }

    /// <summary>The failure of a background write since the last call, if any, with the primary key it was for.</summary>
    public Failure? TakeFailure() => Interlocked.Exchange(ref failure, null);

    /// <summary>Waits until every write queued before the call has landed (or failed).</summary>
    public Task DrainAsync(CancellationToken cancellationToken = default)
    {
        var barrier = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!queue.Writer.TryWrite(new Work(null, barrier)))
        {
            return loop.WaitAsync(cancellationToken);
        }

        // Whoever waits for the writes should not also wait out the pause between commits.
        Volatile.Read(ref flushNow).TrySetResult();
        return barrier.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Writes what is queued and stops taking work.</summary>
    public async Task StopAsync()
    {
        queue.Writer.TryComplete();
        Volatile.Read(ref flushNow).TrySetResult();
        await loop.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        // Between entries, a batch lets a request's threads have the core (see BackgroundWork).
        BackgroundWork.Begin();
        var batch = new List<CacheRecord>(MaxBatch);
        var barriers = new List<TaskCompletionSource>();
        // As if the last commit were long past: the first write lands at once.
        var lastCommit = Stopwatch.GetTimestamp() - (long)(FlushInterval.TotalSeconds * Stopwatch.Frequency);
        while (await queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            // With a full batch already waiting, pausing would gather nothing more: it would only slow the writer down.
            // (Between batches, what is admitted is what waits in the queue.)
            var wait = Volatile.Read(ref queuedRecords) >= MaxBatch ? TimeSpan.Zero : FlushInterval - Stopwatch.GetElapsedTime(lastCommit);
            if (wait > TimeSpan.Zero)
            {
                var signal = Volatile.Read(ref flushNow);
                await Task.WhenAny(signal.Task, Task.Delay(wait)).ConfigureAwait(false);
                if (signal.Task.IsCompleted)
                {
                    Interlocked.CompareExchange(ref flushNow, NewSignal(), signal);
                }
            }

            lastCommit = Stopwatch.GetTimestamp();

            // Whatever queued up meanwhile goes in one store call (one SQLite transaction).
            var taken = 0;
            long takenBytes = 0;
            while (batch.Count < MaxBatch && queue.Reader.TryRead(out var work))
            {
                if (work.Barrier is { } barrier)
                {
                    barriers.Add(barrier);
                    break;
                }

                batch.Add(work.Record!);
                taken++;
                takenBytes += SizeOf(work.Record!);
            }

            KeepLatest(batch);

            if (batch.Count > 0)
            {
                try
                {
                    await store.SetManyAsync(batch).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    Interlocked.Exchange(ref failure, new Failure(ex, batch[0].PrimaryKey));
                }
                finally
                {
                    Forget(batch);
                    batch.Clear();
                }
            }

            if (taken > 0)
            {
                // Counted by what was taken, records a later write replaced included: they were admitted too.
                Release(taken, takenBytes);
            }

            foreach (var barrier in barriers)
            {
                barrier.TrySetResult();
            }

            barriers.Clear();
        }
    }

    /// <summary>The least time between two commits of queued writes.</summary>
    internal static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(10);

    private const int MaxBatch = 512;

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    // One lock a batch, not one a record: the request path takes the same lock to queue and to look up.
    // A record a later write of the same key replaced is dropped; that later write is further down the queue.
    private void KeepLatest(List<CacheRecord> batch)
    {
        lock (gate)
        {
            batch.RemoveAll(record => !(pending.TryGetValue(record.PrimaryKey, out var variants)
                && variants.TryGetValue(record.Key, out var latest) && ReferenceEquals(latest, record)));
        }
    }

    private void Forget(List<CacheRecord> batch)
    {
        lock (gate)
        {
            foreach (var record in batch)
            {
                if (pending.TryGetValue(record.PrimaryKey, out var variants)
                    && variants.TryGetValue(record.Key, out var latest) && ReferenceEquals(latest, record))
                {
                    variants.Remove(record.Key);
                    if (variants.Count == 0)
                    {
                        pending.Remove(record.PrimaryKey);
                    }
                }
            }
        }
    }

    private readonly record struct Work(CacheRecord? Record, TaskCompletionSource? Barrier);

    /// <summary>A background write that failed.</summary>
    internal sealed record Failure(Exception Error, string PrimaryKey);
}
