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
/// </remarks>
internal sealed class WriteBehind
{
    private readonly ICacheStore store;
    private readonly Channel<Work> queue = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, Dictionary<string, CacheRecord>> pending = new(StringComparer.Ordinal);
    private readonly object gate = new();
    private readonly Task loop;
    private Failure? failure;
    private TaskCompletionSource flushNow = NewSignal();

    public WriteBehind(ICacheStore store)
    {
        this.store = store;
        loop = Task.Run(RunAsync);
    }

    /// <summary>Queues a write; the record is visible to <see cref="Pending"/> at once.</summary>
    public void Enqueue(CacheRecord record)
    {
        lock (gate)
        {
            if (!pending.TryGetValue(record.PrimaryKey, out var variants))
            {
                pending[record.PrimaryKey] = variants = new Dictionary<string, CacheRecord>(StringComparer.Ordinal);
            }

            variants[record.Key] = record;
        }

        if (!queue.Writer.TryWrite(new Work(record, null)))
        {
            // The session is closing: write it now rather than lose it.
            store.SetAsync(record).GetAwaiter().GetResult();
            Forget([record]);
        }
    }

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
        var batch = new List<CacheRecord>(MaxBatch);
        var barriers = new List<TaskCompletionSource>();
        // As if the last commit were long past: the first write lands at once.
        var lastCommit = Stopwatch.GetTimestamp() - (long)(FlushInterval.TotalSeconds * Stopwatch.Frequency);
        while (await queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var wait = FlushInterval - Stopwatch.GetElapsedTime(lastCommit);
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
            while (batch.Count < MaxBatch && queue.Reader.TryRead(out var work))
            {
                if (work.Barrier is { } barrier)
                {
                    barriers.Add(barrier);
                    break;
                }

                batch.Add(work.Record!);
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
