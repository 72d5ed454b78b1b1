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
        if (request.Options.TryGetValue(CacheRequestOptions.CallerKey, out var caller))
        {
            refresh.Options.Set(CacheRequestOptions.CallerKey, caller);
        }
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
        var (renewed, answer, storeDecision) = Renewed(request, notModified, stored, options, requestTime, responseTime);
        notModified.Dispose();

        info.Reason = CacheReason.Revalidated;
        info.FromCache = true;
        info.Revalidated = true;
        info.IsExpired = false;
        info.StoreReason = storeDecision.Reason;
        info.ExpiresAt = storeDecision.ExpiresAt;
        info.Add(CacheEventId.Revalidation, CacheDiagnosticLevel.Verbose, $"304 Not Modified: the stored answer is renewed, {ExpiryText(storeDecision.ExpiresAt)}.");
        if (storeUsable)
        {
            await PersistRenewedAsync(request, stored, renewed, storeDecision, info, cancellationToken).ConfigureAwait(false);
        }

        return answer;
    }

    /// <summary>
    /// RFC 9111 §4.3.5: a 200 to HEAD freshens the stored GET answer it selects, as a 304 would, unless its
    /// validators or length say the representation changed; then the stored answer is removed instead.
    /// </summary>
    private async Task FreshenFromHeadAsync(HttpRequestMessage request, HttpResponseMessage head, StoredResponse storedGet, CacheRequestOptions options, CacheResponseInfo info, DateTimeOffset requestTime, DateTimeOffset responseTime, CancellationToken cancellationToken)
    {
        try
        {
            if (!CachePolicy.HeadDescribesStored(head, storedGet))
            {
                await writes.DrainAsync(cancellationToken).ConfigureAwait(false);
                await store.RemoveAsync(new CacheQuery { Key = storedGet.Record.Key }, cancellationToken).ConfigureAwait(false);
                counters.Increment(CacheCounter.Invalidations);
                info.Add(CacheEventId.Store, CacheDiagnosticLevel.Verbose, "The HEAD answer's validators or length differ from the stored GET answer's: the stored answer was removed.");
                return;
            }

            var (renewed, answer, storeDecision) = Renewed(request, head, storedGet, options, requestTime, responseTime);
            answer.Dispose();
            info.Add(CacheEventId.Revalidation, CacheDiagnosticLevel.Verbose, $"The HEAD answer freshens the stored GET answer, {ExpiryText(storeDecision.ExpiresAt)}.");
            await PersistRenewedAsync(request, storedGet, renewed, storeDecision, info, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            StoreFailed(info, "freshen", ex, storedGet.Record.PrimaryKey);
        }
    }

    /// <summary>
    /// A stored answer with the headers of <paramref name="update"/> (a 304, or a 200 to HEAD) merged in
    /// (§3.2), the answer it makes, and whether and until when it is kept.
    /// </summary>
    private (StoredResponse Renewed, HttpResponseMessage Answer, StoreDecision Decision) Renewed(HttpRequestMessage request, HttpResponseMessage update, StoredResponse stored, CacheRequestOptions options, DateTimeOffset requestTime, DateTimeOffset responseTime)
    {
        var renewed = new StoredResponse
        {
            Record = stored.Record,
            StatusCode = stored.StatusCode,
            ReasonPhrase = stored.ReasonPhrase,
            Version = stored.Version,
            Headers = CachePolicy.MergeNotModified(stored.Headers, update, settings),
            VaryValues = stored.VaryValues,
            RequestTime = requestTime,
            ResponseTime = responseTime,
            Body = stored.Body,
            Checksum = stored.Checksum,
        };

        var answer = ToResponse(renewed, request, TimeSpan.Zero);
        // The update's own Age, raw, so the one strict reading of it (CachePolicy.InitialAge) applies.
        answer.Headers.Remove("Age");
        if (HttpFields.Lines(update, "Age") is { } age)
        {
            answer.Headers.TryAddWithoutValidation("Age", age);
        }

        var storeDecision = CachePolicy.Store(request, answer, settings, options, requestTime, responseTime);
        answer.Headers.Age = TimeSpan.FromSeconds(Math.Floor(storeDecision.InitialAge.TotalSeconds));
        return (renewed, answer, storeDecision);
    }

    /// <summary>Writes a renewed answer over the stored one, or removes the stored one when the renewal forbids keeping it.</summary>
    private async Task PersistRenewedAsync(HttpRequestMessage request, StoredResponse stored, StoredResponse renewed, StoreDecision storeDecision, CacheResponseInfo info, CancellationToken cancellationToken)
    {
        var record = stored.Record;
        try
        {
            if (storeDecision.Store && record.BodyStreamed)
            {
                // A streamed body is not copied again for a 304: the entry gets its new clocks; the merged
                // headers answer this request but are not persisted (docs/expiration.md says so).
                await store.UpdateExpirationAsync(record.Key, storeDecision.ExpiresAt, NewRecordInfo(record.Key, record.PrimaryKey, request, stored.StatusCode, record.CreatedAt, storeDecision.ExpiresAt).KeepUntil, cancellationToken).ConfigureAwait(false);
            }
            else if (storeDecision.Store)
            {
                var entry = new StoredResponse
                {
                    Record = NewRecordInfo(record.Key, record.PrimaryKey, request, renewed.StatusCode, record.CreatedAt, storeDecision.ExpiresAt, record.Method),
                    StatusCode = renewed.StatusCode,
                    ReasonPhrase = renewed.ReasonPhrase,
                    Version = renewed.Version,
                    Headers = renewed.Headers,
                    VaryValues = renewed.VaryValues,
                    RequestTime = renewed.RequestTime,
                    ResponseTime = renewed.ResponseTime,
                    InitialAge = storeDecision.InitialAge,
                    Body = renewed.Body,
                };
                await TryWriteAsync(entry, info, cancellationToken, record.HitCount, record.LastAccessedAt).ConfigureAwait(false);
            }
            else
            {
                // The origin's new headers forbid keeping it (no-store, DoNotCache…): the old copy goes.
                await writes.DrainAsync(cancellationToken).ConfigureAwait(false);
                await store.RemoveAsync(new CacheQuery { Key = record.Key }, cancellationToken).ConfigureAwait(false);
                info.Add(CacheEventId.Store, CacheDiagnosticLevel.Verbose, $"Removed: the renewed answer is not storable ({storeDecision.Reason.ToId()}).");
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            StoreFailed(info, "renew", ex, record.PrimaryKey);
        }
    }
}
