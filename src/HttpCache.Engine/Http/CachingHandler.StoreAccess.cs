using System.Runtime.CompilerServices;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Http;

/// <summary>Reading the store, and keeping track of its failures so an outage warns once.</summary>
public sealed partial class CachingHandler
{
    /// <summary>
    /// The primary key of a request without a body, remembered by method, Host header and URL as written: a script
    /// that asks for the same URLs again computes each key (a SHA-256) once per session. A URL whose key holds a
    /// secret's digest is not remembered, so secrets do not outlive their request in this memory.
    /// </summary>
    private string BodylessPrimaryKey(string method, HttpRequestMessage request)
    {
        var host = request.Headers.Host;
        var id = (method, host, request.RequestUri!.OriginalString);
        if (primaryKeys.TryGet(id, out var key))
        {
            return key;
        }

        key = CacheKey.Primary(method, request.RequestUri, null, null, settings, host, out var keyedSecret);
        if (!keyedSecret)
        {
            primaryKeys.Remember(id, key);
        }

        return key;
    }

    /// <summary>How many primary keys this session remembers now (tests).</summary>
    internal int RememberedPrimaryKeys => primaryKeys.Count;

    /// <summary>
    /// The stored answer for the request, or with <paramref name="parts"/> its stored part: a 206 is a piece of an
    /// answer, never one to serve as the whole (RFC 9111 §3.3). Completes at once when the store answered at once
    /// and every variant reads as it is (nothing to remove, no streamed body to check): a hit from a local store then
    /// runs no state machine.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ValueTask<(StoredResponse? Stored, bool StoreUsable)> FindAsync(string primaryKey, HttpRequestMessage request, CacheResponseInfo info, CancellationToken cancellationToken, bool parts = false)
    {
        // Queued writes first: one that lands between the two reads is then in the store's answer.
        var queued = writes.Pending(primaryKey);
        Task<IReadOnlyList<CacheRecord>> read;
        try
        {
            read = store.GetVariantsAsync(primaryKey, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            StoreFailed(info, "read", ex, primaryKey);
            return new((null, false));
        }

        if (read.IsCompletedSuccessfully)
        {
            StoreRecovered(info, primaryKey);
            return Select(Usable(read.Result, queued, parts), request, info, cancellationToken);
        }

        return new(FindLaterAsync(read, queued, primaryKey, request, info, parts, cancellationToken));
    }

    /// <summary>The variant the request selects; at once when every record reads as it is.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ValueTask<(StoredResponse? Stored, bool StoreUsable)> Select(IReadOnlyList<CacheRecord> records, HttpRequestMessage request, CacheResponseInfo info, CancellationToken cancellationToken)
        => ReadVariantsAtOnce(records) is { } variants
            ? new((CachePolicy.SelectVariant(variants, request, settings), true))
            : new(SelectAsync(records, request, info, cancellationToken));

    private async Task<(StoredResponse? Stored, bool StoreUsable)> FindLaterAsync(Task<IReadOnlyList<CacheRecord>> read, IReadOnlyCollection<CacheRecord> queued, string primaryKey, HttpRequestMessage request, CacheResponseInfo info, bool parts, CancellationToken cancellationToken)
    {
        IReadOnlyList<CacheRecord> records;
        try
        {
            records = await read.ConfigureAwait(false);
            StoreRecovered(info, primaryKey);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            StoreFailed(info, "read", ex, primaryKey);
            return (null, false);
        }

        return await Select(Usable(records, queued, parts), request, info, cancellationToken).ConfigureAwait(false);
    }

    private async Task<(StoredResponse? Stored, bool StoreUsable)> SelectAsync(IReadOnlyList<CacheRecord> records, HttpRequestMessage request, CacheResponseInfo info, CancellationToken cancellationToken)
    {
        var variants = await ReadVariantsAsync(records, info, cancellationToken).ConfigureAwait(false);
        return (CachePolicy.SelectVariant(variants, request, settings), true);
    }

    /// <summary>The store's records with the queued writes in their place, whole answers or parts as asked.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static IReadOnlyList<CacheRecord> Usable(IReadOnlyList<CacheRecord> records, IReadOnlyCollection<CacheRecord> queued, bool parts)
    {
        if (queued.Count > 0)
        {
            records = records.Where(r => !queued.Any(q => q.Key == r.Key)).Concat(queued).ToList();
        }

        foreach (var record in records)
        {
            if ((record.StatusCode == 206) != parts)
            {
                return records.Where(r => (r.StatusCode == 206) == parts).ToList();
            }
        }

        return records;
    }

    /// <summary>
    /// The variants, when each reads as it is; null when one needs <see cref="ReadVariantsAsync"/>'s care (removed as
    /// damaged or unvouched for, or a streamed body to check first), which then reads them all again.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static List<StoredResponse>? ReadVariantsAtOnce(IReadOnlyList<CacheRecord> records)
    {
        var variants = new List<StoredResponse>(records.Count);
        foreach (var record in records)
        {
            if (record.BodyStreamed)
            {
                return null;
            }

            try
            {
                var variant = EntrySerializer.Deserialize(record, record.Metadata, record.Body);
                if (variant.Checksum is null)
                {
                    return null;
                }

                variants.Add(Decoded(variant));
            }
            catch (InvalidDataException)
            {
                return null;
            }
        }

        return variants;
    }

    /// <summary>
    /// The stored variants as the policy sees them, each checked first: a body that does not match the checksum in
    /// its metadata (or metadata that does not read) is a corrupt entry — removed, counted, warned about — and an
    /// entry an earlier release wrote without a checksum cannot be vouched for, so it goes too (without counting as
    /// corrupt). Either way the request goes to the origin, and its answer takes the entry's place.
    /// </summary>
    private async Task<List<StoredResponse>> ReadVariantsAsync(IReadOnlyList<CacheRecord> records, CacheResponseInfo info, CancellationToken cancellationToken)
    {
        var variants = new List<StoredResponse>(records.Count);
        foreach (var record in records)
        {
            try
            {
                var variant = EntrySerializer.Deserialize(record, record.Metadata, record.Body);
                if (variant.Checksum is not { } checksum)
                {
                    info.Add(CacheEventId.CorruptEntry, CacheDiagnosticLevel.Verbose, $"The cache entry {record.Key} for {record.Uri} was written by an earlier release, without a body checksum; it was removed and the request goes to the origin.");
                    await RemoveUnusableAsync(record, info, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (record.BodyStreamed && !await StreamedBodyPresentAsync(record, checksum, info, cancellationToken).ConfigureAwait(false))
                {
                    continue;
                }

                variants.Add(Decoded(variant));
            }
            catch (InvalidDataException ex)
            {
                counters.Increment(CacheCounter.CorruptEntries);
                info.Add(CacheEventId.CorruptEntry, CacheDiagnosticLevel.Warning, $"The cache entry {record.Key} for {record.Uri} could not be read ({ex.Message}); it was removed and the request goes to the origin.");
                await RemoveUnusableAsync(record, info, cancellationToken).ConfigureAwait(false);
            }
        }

        return variants;
    }

    /// <summary>The variant with its body as the origin sent it.</summary>
    /// <exception cref="InvalidDataException">The stored compressed body does not decompress to its recorded length.</exception>
    private static StoredResponse Decoded(StoredResponse variant) => variant.BodyEncoding is not { } encoding
        ? variant
        : variant.WithBody(BodyCodec.Decompress(variant.Body, encoding, variant.OriginalLength), null, variant.OriginalLength);

    /// <summary>
    /// A streamed body is read only as the caller reads it, so what can be checked before answering is checked
    /// now: that it can be opened and holds as many bytes as its checksum says. Its bytes are checked as they are
    /// read (<see cref="StoredBodyContent"/>). False when the entry is gone or the store fails (reported).
    /// </summary>
    /// <exception cref="InvalidDataException">The body is damaged (a missing chunk, a file of another length).</exception>
    private async Task<bool> StreamedBodyPresentAsync(CacheRecord record, BodyChecksum checksum, CacheResponseInfo info, CancellationToken cancellationToken)
    {
        if (store is not IStreamingCacheStore streaming)
        {
            return false;
        }

        Stream? body;
        try
        {
            body = await streaming.OpenBodyAsync(record.Key, cancellationToken).ConfigureAwait(false);
        }
        catch (CacheStoreException ex) when (ex.Failure == CacheStoreFailure.Corrupt)
        {
            throw new InvalidDataException(ex.Message, ex);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            StoreFailed(info, "read", ex, record.PrimaryKey);
            return false;
        }

        if (body is null)
        {
            return false;
        }

        await using (body.ConfigureAwait(false))
        {
            if (body.Length != checksum.Length)
            {
                throw new InvalidDataException($"The streamed body holds {body.Length} of the {checksum.Length} bytes recorded with it.");
            }
        }

        return true;
    }

    private async Task RemoveUnusableAsync(CacheRecordInfo record, CacheResponseInfo info, CancellationToken cancellationToken)
    {
        try
        {
            await writes.DrainAsync(cancellationToken).ConfigureAwait(false);
            await store.RemoveAsync(new CacheQuery { Key = record.Key }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception removeFailure) when (!cancellationToken.IsCancellationRequested)
        {
            StoreFailed(info, "remove a corrupt entry", removeFailure, record.PrimaryKey);
        }
    }

    /// <summary>A streamed body found damaged while it was served: counted, and removed before the caller's read fails.</summary>
    private async Task StreamedBodyDamagedAsync(CacheRecordInfo record)
    {
        counters.Increment(CacheCounter.CorruptEntries);
        try
        {
            await store.RemoveAsync(new CacheQuery { Key = record.Key }).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The store fails now: the next lookup checks the entry again, and finds the damage before answering.
            counters.Increment(CacheCounter.Errors);
        }
    }

    /// <summary>
    /// Counts every failure; warns on the first of an outage and only explains the rest. An outage ends
    /// when a key that failed works again (a partial outage — one Redis Cluster primary down — keeps
    /// failing the same keys while others succeed, and stays one outage), or after a quiet minute.
    /// </summary>
    private void StoreFailed(CacheResponseInfo info, string operation, Exception ex, string? primaryKey)
    {
        counters.Increment(CacheCounter.Errors);
        var now = time.GetUtcNow().UtcTicks;
        bool first;
        lock (failingKeys)
        {
            first = !storeFailing || now - lastStoreFailureTicks > OutageQuietPeriod.Ticks;
            if (first)
            {
                failingKeys.Clear();
            }

            storeFailing = true;
            lastStoreFailureTicks = now;
            if (primaryKey is not null && failingKeys.Count < MaxTrackedFailingKeys)
            {
                failingKeys.Add(primaryKey);
            }
        }

        // The store's own message names the server or file; the innermost one is a library's detail.
        var reason = ex is CacheStoreException ? ex.Message : ex.GetBaseException().Message;
        info.Add(CacheEventId.StoreFailure, first ? CacheDiagnosticLevel.Warning : CacheDiagnosticLevel.Verbose,
            first
                ? $"The {store.BackendName} cache could not {operation} ({reason}); the origin answers until it recovers."
                : $"The {store.BackendName} cache is still failing ({reason}); the origin answers.");
    }

    private void StoreRecovered(CacheResponseInfo info, string? primaryKey)
    {
        if (!Volatile.Read(ref storeFailing) || primaryKey is null)
        {
            return;
        }

        lock (failingKeys)
        {
            if (!storeFailing || !(failingKeys.Contains(primaryKey) || failingKeys.Count == 0))
            {
                return;
            }

            storeFailing = false;
            failingKeys.Clear();
        }

        info.Add(CacheEventId.StoreFailure, CacheDiagnosticLevel.Verbose, $"The {store.BackendName} cache works again; caching resumes.");
    }
}
