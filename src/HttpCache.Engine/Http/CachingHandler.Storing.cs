using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Http;

/// <summary>Turning an origin answer into a stored entry: whole, or streamed as the caller reads it.</summary>
public sealed partial class CachingHandler
{
    /// <summary>
    /// A large body (or one of unknown length) goes to a streaming store as the caller reads it, never
    /// whole in memory; the entry appears when the caller has read it to the end.
    /// </summary>
    private async Task<HttpResponseMessage> StoreWhileStreamingAsync(IStreamingCacheStore streaming, HttpRequestMessage request, HttpRequestMessage callerHeaders, HttpResponseMessage response, string primaryKey, StoreDecision storeDecision, DateTimeOffset requestTime, DateTimeOffset responseTime, CacheResponseInfo info, CancellationToken cancellationToken)
    {
        var entry = NewEntry(request, callerHeaders, response, primaryKey, storeDecision, requestTime, responseTime, []);
        ICacheBodyWriter writer;
        try
        {
            writer = await streaming.BeginWriteAsync(ToRecord(entry, EntrySerializer.Serialize(entry), [], 0, null, bodyStreamed: true), cancellationToken).ConfigureAwait(false);
            StoreRecovered(info, primaryKey);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            info.StoreReason = CacheReason.NotStoredStoreFailure;
            StoreFailed(info, "write", ex, primaryKey);
            return response;
        }

        var key = entry.Record.Key;
        var sink = new TeeStream.Sink(
            writer,
            settings.MaxBodySize,
            finalMetadata: checksum => EntrySerializer.Serialize(entry, checksum),
            committed: length =>
            {
                counters.Increment(CacheCounter.Stores);
                counters.Add(CacheCounter.OriginalBytesWritten, length);
                counters.Add(CacheCounter.StoredBytesWritten, length);
                info.Add(CacheEventId.Store, CacheDiagnosticLevel.Verbose, $"Stored as {key} ({length} bytes, streamed), {ExpiryText(storeDecision.ExpiresAt)}.");
            },
            abandoned: (why, ex) =>
            {
                info.StoreReason = ex is null ? CacheReason.NotStorableTooLarge : CacheReason.NotStoredStoreFailure;
                if (ex is not null)
                {
                    StoreFailed(info, "write", ex, primaryKey);
                }

                info.Add(CacheEventId.Store, CacheDiagnosticLevel.Verbose, $"Not stored: {why}; the body streamed through.");
            });
        response.Content = new TeeContent(response.Content!, sink);
        info.CacheKey = key;
        info.CreatedAt = responseTime;
        info.ExpiresAt = storeDecision.ExpiresAt;
        info.Add(CacheEventId.Store, CacheDiagnosticLevel.Verbose, $"Storing as {key} while the body streams; it is kept once read to the end.");
        return response;
    }

    /// <summary>The entry an origin answer becomes; its variant pairs come from the caller's own headers.</summary>
    private StoredResponse NewEntry(HttpRequestMessage request, HttpRequestMessage callerHeaders, HttpResponseMessage response, string primaryKey, StoreDecision storeDecision, DateTimeOffset requestTime, DateTimeOffset responseTime, byte[] body, string? method = null, string keySuffix = "")
    {
        var varyValues = CachePolicy.VaryValues(callerHeaders, response, settings);
        return new StoredResponse
        {
            Record = NewRecordInfo(CacheKey.Variant(primaryKey, varyValues) + keySuffix, primaryKey, request, (int)response.StatusCode, responseTime, storeDecision.ExpiresAt, method),
            StatusCode = (int)response.StatusCode,
            ReasonPhrase = response.ReasonPhrase,
            Version = response.Version,
            Headers = CachePolicy.StorableHeaders(response, settings),
            VaryValues = varyValues,
            RequestTime = requestTime,
            ResponseTime = responseTime,
            InitialAge = storeDecision.InitialAge,
            Body = body,
        };
    }

    private HttpResponseMessage TooLarge(HttpResponseMessage response, CacheResponseInfo info)
    {
        info.StoreReason = CacheReason.NotStorableTooLarge;
        info.Add(CacheEventId.Store, CacheDiagnosticLevel.Verbose, $"Not stored: {CacheReason.NotStorableTooLarge.ToId()} (the body exceeds {settings.MaxBodySize} bytes); it streams through unbuffered.");
        return response;
    }

    /// <summary>A headers-only copy of a request, for computing variant pairs after it was sent.</summary>
    private static HttpRequestMessage SnapshotHeaders(HttpRequestMessage request)
    {
        var copy = new HttpRequestMessage(request.Method, request.RequestUri);
        if (request.Options.TryGetValue(CacheRequestOptions.CallerKey, out var caller))
        {
            copy.Options.Set(CacheRequestOptions.CallerKey, caller);
        }

        foreach (var (name, values) in request.Headers.NonValidated)
        {
            copy.Headers.TryAddWithoutValidation(name, values);
        }

        if (request.Content is not null)
        {
            copy.Content = new ByteArrayContent([]);
            foreach (var (name, values) in request.Content.Headers.NonValidated)
            {
                copy.Content.Headers.TryAddWithoutValidation(name, values);
            }
        }

        return copy;
    }

    // Waits only when the background writer's queue is full: that is how a burst of misses is slowed to the store's pace.
    private async ValueTask<bool> TryWriteAsync(StoredResponse entry, CacheResponseInfo info, CancellationToken cancellationToken, long hitCount = 0, DateTimeOffset? lastAccessedAt = null)
    {
        try
        {
            var (storedBody, encoding) = BodyCodec.Compress(entry.Body, settings.Compress);
            var metadata = EntrySerializer.Serialize(encoding is null ? entry : entry.WithBody(storedBody, encoding, entry.Body.Length));
            await writes.EnqueueAsync(ToRecord(entry, metadata, storedBody, hitCount, lastAccessedAt, bodyStreamed: false), cancellationToken).ConfigureAwait(false);
            counters.Increment(CacheCounter.Stores);
            counters.Add(CacheCounter.OriginalBytesWritten, entry.Body.Length);
            counters.Add(CacheCounter.StoredBytesWritten, storedBody.Length);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            info.StoreReason = CacheReason.NotStoredStoreFailure;
            StoreFailed(info, "write", ex, entry.Record.PrimaryKey);
            return false;
        }
    }

    private static CacheRecord ToRecord(StoredResponse entry, byte[] metadata, byte[] body, long hitCount, DateTimeOffset? lastAccessedAt, bool bodyStreamed)
    {
        var r = entry.Record;
        return new CacheRecord
        {
            Key = r.Key,
            PrimaryKey = r.PrimaryKey,
            Method = r.Method,
            Uri = r.Uri,
            StatusCode = r.StatusCode,
            CreatedAt = r.CreatedAt,
            ExpiresAt = r.ExpiresAt,
            KeepUntil = r.KeepUntil,
            HitCount = hitCount,
            LastAccessedAt = lastAccessedAt,
            BodyStreamed = bodyStreamed,
            Metadata = metadata,
            Body = body,
        };
    }

    private CacheRecordInfo NewRecordInfo(string key, string primaryKey, HttpRequestMessage request, int status, DateTimeOffset createdAt, DateTimeOffset? expiresAt, string? method = null) => new()
    {
        Key = key,
        PrimaryKey = primaryKey,
        // A HEAD that freshens a stored GET answer keeps it a GET entry.
        Method = method ?? request.Method.Method.ToUpperInvariant(),
        Uri = CacheKey.RedactUrl(request.RequestUri!, settings),
        StatusCode = status,
        CreatedAt = createdAt,
        ExpiresAt = expiresAt,
        // The second clock: an expired entry is kept for revalidation and stale answers this much longer.
        KeepUntil = expiresAt is { } fresh && settings.KeepExpiredFor is { } grace ? fresh + grace : null,
    };
}
