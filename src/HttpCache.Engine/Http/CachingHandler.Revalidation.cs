using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Http;

/// <summary>Revalidation: the 304 renewal (RFC 9111 §4.3.4) and background refreshes (RFC 5861 stale-while-revalidate).</summary>
public sealed partial class CachingHandler
{
    /// <summary>Stale-while-revalidate: one background refresh per entry, however many callers see it stale.</summary>
    private void StartRefresh(HttpRequestMessage request, byte[]? body, CacheRequestOptions options, StoredResponse stored, CacheResponseInfo info)
    {
        if (stopping.IsCancellationRequested)
        {
            return;
        }

        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!refreshes.TryAdd(stored.Record.Key, gate.Task))
        {
            info.Add(CacheEventId.Decision, CacheDiagnosticLevel.Verbose, "A background refresh of this entry is already under way.");
            return;
        }

        counters.Increment(CacheCounter.BackgroundRefreshes);
        info.Add(CacheEventId.Decision, CacheDiagnosticLevel.Verbose, "Refreshing the entry in the background.");
        var refresh = new HttpRequestMessage(request.Method, request.RequestUri) { Version = request.Version, VersionPolicy = request.VersionPolicy };
        foreach (var (name, values) in request.Headers.NonValidated)
        {
            if (!ConditionalHeaders.Contains(name))
            {
                refresh.Headers.TryAddWithoutValidation(name, values);
            }
        }

        if (body is not null)
        {
            refresh.Content = new ByteArrayContent(body);
            foreach (var (name, values) in request.Content!.Headers.NonValidated)
            {
                refresh.Content.Headers.TryAddWithoutValidation(name, values);
            }
        }

        refresh.Options.Set(OptionsKey, options with { Mode = CacheMode.Refresh });
        var key = stored.Record.Key;
        _ = Task.Run(async () =>
        {
            try
            {
                // A failed refresh (error status, exception) stores nothing: the old entry stays.
                using var response = await SendAsync(refresh, stopping.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Nobody waits on a background refresh; its failure leaves the stored entry as it was.
            }
            finally
            {
                refresh.Dispose();
                refreshes.TryRemove(key, out _);
                gate.SetResult();
            }
        });
    }

    /// <summary>A 304 for a stored answer: merge its headers, renew the clocks, answer with the stored body (RFC 9111 §4.3.4).</summary>
    private async Task<HttpResponseMessage> RenewAsync(HttpRequestMessage request, HttpResponseMessage notModified, StoredResponse stored, CacheRequestOptions options, CacheResponseInfo info, DateTimeOffset requestTime, DateTimeOffset responseTime, bool storeUsable, CancellationToken cancellationToken)
    {
        counters.Increment(CacheCounter.Hits);
        counters.Increment(CacheCounter.Revalidations);
        var merged = CachePolicy.MergeNotModified(stored.Headers, notModified);
        var renewed = new StoredResponse
        {
            Record = stored.Record,
            StatusCode = stored.StatusCode,
            ReasonPhrase = stored.ReasonPhrase,
            Version = stored.Version,
            Headers = merged,
            VaryValues = stored.VaryValues,
            RequestTime = requestTime,
            ResponseTime = responseTime,
            Body = stored.Body,
            Checksum = stored.Checksum,
        };

        var answer = ToResponse(renewed, request, TimeSpan.Zero);
        answer.Headers.Age = notModified.Headers.Age;
        var storeDecision = CachePolicy.Store(request, answer, settings, options, requestTime, responseTime);
        notModified.Dispose();
        answer.Headers.Age = TimeSpan.FromSeconds(Math.Floor(storeDecision.InitialAge.TotalSeconds));

        info.Reason = CacheReason.Revalidated;
        info.FromCache = true;
        info.Revalidated = true;
        info.IsExpired = false;
        info.StoreReason = storeDecision.Reason;
        info.ExpiresAt = storeDecision.ExpiresAt;
        info.Add(CacheEventId.Revalidation, CacheDiagnosticLevel.Verbose, $"304 Not Modified: the stored answer is renewed, {ExpiryText(storeDecision.ExpiresAt)}.");
        if (!storeUsable)
        {
            return answer;
        }

        try
        {
            if (storeDecision.Store && stored.Record.BodyStreamed)
            {
                // A streamed body is not copied again for a 304: the entry gets its new clocks; the merged
                // headers answer this request but are not persisted (docs/expiration.md says so).
                await store.UpdateExpirationAsync(stored.Record.Key, storeDecision.ExpiresAt, NewRecordInfo(stored.Record.Key, stored.Record.PrimaryKey, request, stored.StatusCode, stored.Record.CreatedAt, storeDecision.ExpiresAt).KeepUntil, cancellationToken).ConfigureAwait(false);
            }
            else if (storeDecision.Store)
            {
                var record = renewed.Record;
                var entry = new StoredResponse
                {
                    Record = NewRecordInfo(record.Key, record.PrimaryKey, request, renewed.StatusCode, record.CreatedAt, storeDecision.ExpiresAt),
                    StatusCode = renewed.StatusCode,
                    ReasonPhrase = renewed.ReasonPhrase,
                    Version = renewed.Version,
                    Headers = merged,
                    VaryValues = renewed.VaryValues,
                    RequestTime = requestTime,
                    ResponseTime = responseTime,
                    InitialAge = storeDecision.InitialAge,
                    Body = renewed.Body,
                };
                TryWrite(entry, info, record.HitCount, record.LastAccessedAt);
            }
            else
            {
                // The origin's new headers forbid keeping it (no-store, DoNotCache…): the old copy goes.
                await writes.DrainAsync(cancellationToken).ConfigureAwait(false);
                await store.RemoveAsync(new CacheQuery { Key = stored.Record.Key }, cancellationToken).ConfigureAwait(false);
                info.Add(CacheEventId.Store, CacheDiagnosticLevel.Verbose, $"Removed: the renewed answer is not storable ({storeDecision.Reason.ToId()}).");
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            StoreFailed(info, "renew", ex, stored.Record.PrimaryKey);
        }

        return answer;
    }
}
