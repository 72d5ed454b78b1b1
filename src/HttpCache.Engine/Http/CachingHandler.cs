using System.Collections.Concurrent;
using System.Net;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Http;

/// <summary>
/// The one place that talks to the origin: a <see cref="DelegatingHandler"/> that answers from the store
/// when the policy allows, revalidates, and stores what the policy says is storable. One instance serves
/// any number of concurrent requests. A store failure never fails a request the origin can answer: it is
/// reported on the answer's <see cref="CacheResponseInfo"/> (a warning once per outage), counted, and the
/// origin answers.
/// </summary>
public sealed class CachingHandler : DelegatingHandler
{
    /// <summary>The key under which a request carries its <see cref="CacheRequestOptions"/>.</summary>
    public static readonly HttpRequestOptionsKey<CacheRequestOptions> OptionsKey = new("HttpCache.RequestOptions");

    /// <summary>After this long without a failure, the next failure is a new outage and warns again.</summary>
    private static readonly TimeSpan OutageQuietPeriod = TimeSpan.FromMinutes(1);

    private const int MaxTrackedFailingKeys = 1024;

    /// <summary>Bodies longer than this (or of unknown length) go to a streaming store in pieces.</summary>
    private const long StreamingThreshold = 1024 * 1024;

    private static readonly HashSet<string> SafeMethods = new(StringComparer.OrdinalIgnoreCase) { "GET", "HEAD", "OPTIONS", "TRACE" };
    private static readonly HashSet<string> ConditionalHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range",
    };

    private readonly ICacheStore store;
    private readonly CacheSettings settings;
    private readonly TimeProvider time;
    private readonly CacheCounters counters;
    private readonly AccessLog? accessLog;
    private readonly ConcurrentDictionary<string, TaskCompletionSource> inFlight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> refreshes = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource stopping = new();
    private readonly WriteBehind writes;
    private readonly HashSet<string> failingKeys = new(StringComparer.Ordinal);
    private bool storeFailing;
    private long lastStoreFailureTicks;

    /// <summary>Creates the handler over a store.</summary>
    public CachingHandler(ICacheStore store, CacheSettings settings, TimeProvider time, CacheCounters counters, HttpMessageHandler innerHandler)
        : this(store, settings, time, counters, innerHandler, null)
    {
    }

    internal CachingHandler(ICacheStore store, CacheSettings settings, TimeProvider time, CacheCounters counters, HttpMessageHandler innerHandler, AccessLog? accessLog)
        : base(innerHandler)
    {
        this.store = store;
        this.settings = settings;
        this.time = time;
        this.counters = counters;
        this.accessLog = accessLog;
        writes = new WriteBehind(store);
    }

    /// <summary>
    /// Waits until every store write queued so far has landed. Writes leave the request path (a miss
    /// answers before its entry is written); anything that reads the store directly, or removes from it,
    /// drains first.
    /// </summary>
    public Task DrainWritesAsync(CancellationToken cancellationToken = default) => writes.DrainAsync(cancellationToken);

    /// <summary>Background refreshes under way (stale-while-revalidate).</summary>
    public int PendingRefreshes => refreshes.Count;

    /// <summary>
    /// Cancels the background refreshes and waits for them to end, at most <paramref name="wait"/>.
    /// Requests sent afterwards no longer start refreshes.
    /// </summary>
    public async Task StopBackgroundWorkAsync(TimeSpan wait)
    {
        await stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(refreshes.Values).WaitAsync(wait).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A refresh that failed or overran has already been cancelled; the stored entry stays as it was.
        }

        try
        {
            await writes.StopAsync().WaitAsync(wait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A store that cannot take the queued writes in time loses them; they were only a cache.
        }
    }

    /// <summary>Waits until no background refresh is under way (for tests and orderly shutdowns).</summary>
    public async Task WaitForBackgroundWorkAsync(CancellationToken cancellationToken = default)
    {
        while (!refreshes.IsEmpty)
        {
            try
            {
                await Task.WhenAll(refreshes.Values).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // A failed refresh has ended all the same.
            }
        }
    }

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var info = new CacheResponseInfo();
        request.Options.Set(CacheResponseExtensions.InfoKey, info);
        var options = request.Options.TryGetValue(OptionsKey, out var given) ? given : CacheRequestOptions.Default;
        if (writes.TakeFailure() is { } writeFailure)
        {
            StoreFailed(info, "write an earlier answer", writeFailure.Error, writeFailure.PrimaryKey);
        }

        var bypass = CachePolicy.Bypass(request, settings)
            ?? (options.ExpireAfter is { IsDoNotCache: true } ? CacheReason.BypassDoNotCache : (CacheReason?)null);
        if (bypass is not null)
        {
            return await BypassAsync(request, options, info, bypass.Value, cancellationToken).ConfigureAwait(false);
        }

        byte[]? body = null;
        if (request.Content is not null)
        {
            // Buffered so the digest can be taken and the same bytes still sent.
            await request.Content.LoadIntoBufferAsync().ConfigureAwait(false);
            body = await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        }

        var primaryKey = CacheKey.Primary(request.Method.Method, request.RequestUri!, body, request.Content?.Headers.ContentType?.MediaType, settings.EffectiveIgnoredParameters);
        info.CacheKey = primaryKey;

        var (stored, storeUsable) = await FindAsync(primaryKey, request, info, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        var decision = storeUsable
            ? CachePolicy.Lookup(request, stored, settings, options, now)
            : CachePolicy.Lookup(request, null, settings, options, now) with { Reason = CacheReason.BypassStoreFailure };
        Describe(info, request, decision, stored);

        switch (decision.Action)
        {
            case LookupAction.Serve:
                return Hit(request, stored!, decision, info, now, decision.Reason switch
                {
                    CacheReason.StaleHitMaxStale => "max-stale",
                    CacheReason.StaleHitOnlyIfCached => "only-if-cached",
                    _ => null,
                });
            case LookupAction.ServeAndRefresh:
                StartRefresh(request, body, options, stored!, info);
                return Hit(request, stored!, decision, info, now, "stale-while-revalidate");
            case LookupAction.NotCached:
                counters.Increment(CacheCounter.Misses);
                return NotCached(request);
        }

        // Identical misses coalesce: one caller asks the origin, the others wait and then read its stored answer.
        TaskCompletionSource? flight = null;
        if (options.Mode == CacheMode.Default && storeUsable && body is null)
        {
            flight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var leader = inFlight.GetOrAdd(primaryKey, flight);
            if (leader != flight)
            {
                flight = null;
                await leader.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                var (shared, _) = await FindAsync(primaryKey, request, info, cancellationToken).ConfigureAwait(false);
                now = time.GetUtcNow();
                var again = shared is null ? default : CachePolicy.Lookup(request, shared, settings, options, now);
                if (shared is not null && again.Action == LookupAction.Serve)
                {
                    counters.Increment(CacheCounter.Coalesced);
                    info.Add(CacheEventId.Decision, CacheDiagnosticLevel.Verbose, "coalesced: a concurrent identical request fetched this answer; served from the cache.");
                    return Hit(request, shared, again with { Reason = CacheReason.Coalesced }, info, now, null);
                }

                // The shared answer was not storable: this caller asks the origin itself.
            }
        }

        try
        {
            return await ExchangeAsync(request, options, info, decision, stored, primaryKey, storeUsable, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (flight is not null)
            {
                inFlight.TryRemove(new KeyValuePair<string, TaskCompletionSource>(primaryKey, flight));
                flight.SetResult();
            }
        }
    }

    private async Task<HttpResponseMessage> ExchangeAsync(HttpRequestMessage request, CacheRequestOptions options, CacheResponseInfo info, LookupDecision decision, StoredResponse? stored, string primaryKey, bool storeUsable, CancellationToken cancellationToken)
    {
        // Handlers below may add headers (Accept-Encoding, traceparent…) to this very request: the
        // variant pairs must be taken from the caller's headers, as the next lookup will see them.
        var callerHeaders = SnapshotHeaders(request);
        if (decision.Action == LookupAction.Revalidate)
        {
            CachePolicy.AddValidators(request, stored!);
        }

        var requestTime = time.GetUtcNow();
        HttpResponseMessage response;
        try
        {
            response = await SendToOriginAsync(request, options, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && stored is not null
            && CachePolicy.StaleIfErrorAllowed(stored, request, settings, time.GetUtcNow()))
        {
            return StaleOnError(request, stored, info, $"the origin could not be reached ({ex.GetBaseException().Message})");
        }

        var responseTime = time.GetUtcNow();
        if (decision.Action == LookupAction.Revalidate && response.StatusCode == HttpStatusCode.NotModified)
        {
            return await RenewAsync(request, response, stored!, options, info, requestTime, responseTime, storeUsable, cancellationToken).ConfigureAwait(false);
        }

        if ((int)response.StatusCode >= 400 && stored is not null && CachePolicy.StaleIfErrorAllowed(stored, request, settings, responseTime))
        {
            var status = (int)response.StatusCode;
            response.Dispose();
            return StaleOnError(request, stored, info, $"the origin answered {status}");
        }

        counters.Increment(CacheCounter.Misses);
        if (!SafeMethods.Contains(request.Method.Method) && (int)response.StatusCode is >= 200 and < 400)
        {
            await InvalidateAsync(request, response, info, cancellationToken).ConfigureAwait(false);
        }

        if (decision.Action == LookupAction.Revalidate)
        {
            info.Reason = CacheReason.ModifiedOnRevalidation;
            info.Add(CacheEventId.Revalidation, CacheDiagnosticLevel.Verbose, $"The origin answered the revalidation with {(int)response.StatusCode}, not 304: the stored answer is replaced if the new one is storable.");
        }

        info.FromCache = false;
        info.IsExpired = false;
        info.CreatedAt = null;
        info.ExpiresAt = null;
        var storeDecision = CachePolicy.Store(request, response, settings, options, requestTime, responseTime);
        info.StoreReason = storeDecision.Reason;
        if (!storeDecision.Store)
        {
            info.Add(CacheEventId.Store, CacheDiagnosticLevel.Verbose, $"Not stored: {storeDecision.Reason.ToId()}.");
            return response;
        }

        if (!storeUsable)
        {
            info.StoreReason = CacheReason.NotStoredStoreFailure;
            return response;
        }

        var contentLength = response.Content?.Headers.ContentLength;
        if (contentLength > settings.MaxBodySize)
        {
            return TooLarge(response, info);
        }

        // Small bodies are stored whole (one write, compressible); past the threshold, a streaming store takes
        // the rest in pieces as the caller reads, and other stores buffer up to MaxBodySize.
        var streaming = store as IStreamingCacheStore;
        var bufferLimit = streaming is null ? settings.MaxBodySize : Math.Min(settings.MaxBodySize, StreamingThreshold);
        var responseBody = contentLength > bufferLimit ? null : await BodyCodec.ReadUpToAsync(response, bufferLimit, cancellationToken).ConfigureAwait(false);
        if (responseBody is null)
        {
            return streaming is not null && response.Content is not null && bufferLimit < settings.MaxBodySize
                ? await StoreWhileStreamingAsync(streaming, request, callerHeaders, response, primaryKey, storeDecision, requestTime, responseTime, info, cancellationToken).ConfigureAwait(false)
                : TooLarge(response, info);
        }

        var entry = NewEntry(request, callerHeaders, response, primaryKey, storeDecision, requestTime, responseTime, responseBody);
        if (TryWrite(entry, info))
        {
            info.CacheKey = entry.Record.Key;
            info.CreatedAt = responseTime;
            info.ExpiresAt = storeDecision.ExpiresAt;
            info.Add(CacheEventId.Store, CacheDiagnosticLevel.Verbose, $"Stored as {entry.Record.Key}, {ExpiryText(storeDecision.ExpiresAt)}.");
        }

        return response;
    }

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
    private StoredResponse NewEntry(HttpRequestMessage request, HttpRequestMessage callerHeaders, HttpResponseMessage response, string primaryKey, StoreDecision storeDecision, DateTimeOffset requestTime, DateTimeOffset responseTime, byte[] body)
    {
        var varyValues = CachePolicy.VaryValues(callerHeaders, response, settings);
        return new StoredResponse
        {
            Record = NewRecordInfo(CacheKey.Variant(primaryKey, varyValues), primaryKey, request, (int)response.StatusCode, responseTime, storeDecision.ExpiresAt),
            StatusCode = (int)response.StatusCode,
            ReasonPhrase = response.ReasonPhrase,
            Version = response.Version,
            Headers = CachePolicy.StorableHeaders(response),
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

    /// <summary>Sends to the origin under the request's own timeout, which becomes a <see cref="TimeoutException"/>.</summary>
    private async Task<HttpResponseMessage> SendToOriginAsync(HttpRequestMessage request, CacheRequestOptions options, CancellationToken cancellationToken)
    {
        if (options.Timeout is not { } timeout)
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            return await base.SendAsync(request, timeoutSource.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The origin did not answer within {timeout.TotalSeconds:0.###} seconds.", ex);
        }
    }

    private async Task<HttpResponseMessage> BypassAsync(HttpRequestMessage request, CacheRequestOptions options, CacheResponseInfo info, CacheReason bypass, CancellationToken cancellationToken)
    {
        info.Reason = bypass;
        if (bypass == CacheReason.BypassDoNotCache)
        {
            info.StoreReason = CacheReason.NotStorableDoNotCache;
        }

        counters.Increment(CacheCounter.Bypassed);
        info.Add(CacheEventId.Decision, CacheDiagnosticLevel.Verbose, $"{request.Method} {request.RequestUri}: {bypass.ToId()}, the cache stays out.");
        if (options.Mode == CacheMode.OnlyIfCached)
        {
            return NotCached(request);
        }

        var response = await SendToOriginAsync(request, options, cancellationToken).ConfigureAwait(false);
        if (!SafeMethods.Contains(request.Method.Method) && (int)response.StatusCode is >= 200 and < 400)
        {
            await InvalidateAsync(request, response, info, cancellationToken).ConfigureAwait(false);
        }

        return response;
    }

    /// <summary>
    /// RFC 9111 §4.4: an unsafe method that succeeded invalidates the stored answers for its URL and for
    /// same-origin Location and Content-Location — every variant of GET and HEAD.
    /// </summary>
    private async Task InvalidateAsync(HttpRequestMessage request, HttpResponseMessage response, CacheResponseInfo info, CancellationToken cancellationToken)
    {
        var target = request.RequestUri!;
        var targets = new List<Uri> { target };
        foreach (var related in new[] { response.Headers.Location, response.Content?.Headers.ContentLocation })
        {
            if (related is not null && Uri.TryCreate(target, related, out var absolute)
                && Uri.Compare(absolute, target, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0)
            {
                targets.Add(absolute);
            }
        }

        try
        {
            // A queued write of one of these answers must not land after the removal.
            await writes.DrainAsync(cancellationToken).ConfigureAwait(false);
            var removed = 0;
            foreach (var uri in targets.Distinct())
            {
                foreach (var method in new[] { "GET", "HEAD" })
                {
                    var primary = CacheKey.Primary(method, uri, null, null, settings.EffectiveIgnoredParameters);
                    removed += await store.RemoveAsync(new CacheQuery { PrimaryKey = primary }, cancellationToken).ConfigureAwait(false);
                }
            }

            if (removed > 0)
            {
                for (var i = 0; i < removed; i++)
                {
                    counters.Increment(CacheCounter.Invalidations);
                }

                info.StoreReason = CacheReason.Invalidated;
                info.Add(CacheEventId.Store, CacheDiagnosticLevel.Verbose, $"{request.Method} succeeded: {removed} stored answer(s) for {string.Join(", ", targets.Distinct())} invalidated.");
            }

            StoreRecovered(info, null);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            StoreFailed(info, "invalidate", ex, null);
        }
    }

    private async Task<(StoredResponse? Stored, bool StoreUsable)> FindAsync(string primaryKey, HttpRequestMessage request, CacheResponseInfo info, CancellationToken cancellationToken)
    {
        // Queued writes first: one that lands between the two reads is then in the store's answer.
        var queued = writes.Pending(primaryKey);
        IReadOnlyList<CacheRecord> records;
        try
        {
            records = await store.GetVariantsAsync(primaryKey, cancellationToken).ConfigureAwait(false);
            StoreRecovered(info, primaryKey);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            StoreFailed(info, "read", ex, primaryKey);
            return (null, false);
        }

        if (queued.Count > 0)
        {
            records = records.Where(r => !queued.Any(q => q.Key == r.Key)).Concat(queued).ToList();
        }

        var variants = await ReadVariantsAsync(records, info, cancellationToken).ConfigureAwait(false);
        return (CachePolicy.SelectVariant(variants, request, settings), true);
    }

    private HttpResponseMessage Hit(HttpRequestMessage request, StoredResponse stored, LookupDecision decision, CacheResponseInfo info, DateTimeOffset now, string? staleReason)
    {
        counters.Increment(CacheCounter.Hits);
        if (decision.IsExpired)
        {
            counters.Increment(CacheCounter.StaleServed);
            info.StaleReason = staleReason;
        }

        info.Reason = decision.Reason;
        info.FromCache = true;
        info.IsExpired = decision.IsExpired;
        info.CacheKey = stored.Record.Key;
        info.CreatedAt = stored.Record.CreatedAt;
        info.ExpiresAt = stored.Record.ExpiresAt;
        accessLog?.Record(stored.Record.Key, now);
        return ToResponse(stored, request, decision.Age);
    }

    private HttpResponseMessage StaleOnError(HttpRequestMessage request, StoredResponse stored, CacheResponseInfo info, string why)
    {
        var now = time.GetUtcNow();
        info.Add(CacheEventId.Decision, CacheDiagnosticLevel.Verbose, $"stale-if-error: {why}; answering with the stored copy ({ExpiryText(stored.Record.ExpiresAt)}).");
        var expired = stored.Record.ExpiresAt is { } e && now >= e;
        return Hit(request, stored, new LookupDecision(LookupAction.Serve, CacheReason.StaleIfError, expired, CachePolicy.CurrentAge(stored, now)), info, now, "stale-if-error");
    }

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

    private bool TryWrite(StoredResponse entry, CacheResponseInfo info, long hitCount = 0, DateTimeOffset? lastAccessedAt = null)
    {
        try
        {
            var (storedBody, encoding) = BodyCodec.Compress(entry.Body, settings.Compress);
            var metadata = EntrySerializer.Serialize(encoding is null ? entry : entry.WithBody(storedBody, encoding, entry.Body.Length));
            writes.Enqueue(ToRecord(entry, metadata, storedBody, hitCount, lastAccessedAt, bodyStreamed: false));
            counters.Increment(CacheCounter.Stores);
            counters.Add(CacheCounter.OriginalBytesWritten, entry.Body.Length);
            counters.Add(CacheCounter.StoredBytesWritten, storedBody.Length);
            return true;
        }
        catch (Exception ex)
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

                variants.Add(variant.BodyEncoding is not { } encoding
                    ? variant
                    : variant.WithBody(BodyCodec.Decompress(variant.Body, encoding, variant.OriginalLength), null, variant.OriginalLength));
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

    private CacheRecordInfo NewRecordInfo(string key, string primaryKey, HttpRequestMessage request, int status, DateTimeOffset createdAt, DateTimeOffset? expiresAt) => new()
    {
        Key = key,
        PrimaryKey = primaryKey,
        Method = request.Method.Method.ToUpperInvariant(),
        Uri = CacheKey.RedactUrl(request.RequestUri!, settings.EffectiveIgnoredParameters),
        StatusCode = status,
        CreatedAt = createdAt,
        ExpiresAt = expiresAt,
        // The second clock: an expired entry is kept for revalidation and stale answers this much longer.
        KeepUntil = expiresAt is { } fresh && settings.KeepExpiredFor is { } grace ? fresh + grace : null,
    };

    /// <summary>An answer built from a stored one, with the Age the cache computed (RFC 9111 §5.1).</summary>
    private HttpResponseMessage ToResponse(StoredResponse stored, HttpRequestMessage request, TimeSpan age)
    {
        var response = new HttpResponseMessage((HttpStatusCode)stored.StatusCode)
        {
            ReasonPhrase = stored.ReasonPhrase,
            Version = stored.Version,
            RequestMessage = request,
            Content = stored.Record.BodyStreamed && store is IStreamingCacheStore streaming && stored.Checksum is { } checksum
                ? new StoredBodyContent(streaming, stored.Record, checksum, StreamedBodyDamagedAsync)
                : new ByteArrayContent(stored.Body),
        };
        foreach (var (name, values) in stored.Headers)
        {
            if (!response.Headers.TryAddWithoutValidation(name, values))
            {
                response.Content.Headers.TryAddWithoutValidation(name, values);
            }
        }

        response.Headers.Age = TimeSpan.FromSeconds(Math.Floor(age.TotalSeconds));
        return response;
    }

    private static HttpResponseMessage NotCached(HttpRequestMessage request) => new(HttpStatusCode.GatewayTimeout)
    {
        // requests-cache's answer to only-if-cached with nothing usable stored.
        ReasonPhrase = "Not Cached",
        RequestMessage = request,
        Content = new ByteArrayContent([]),
    };

    private static void Describe(CacheResponseInfo info, HttpRequestMessage request, LookupDecision decision, StoredResponse? stored)
    {
        info.Reason = decision.Reason;
        info.IsExpired = decision.IsExpired;
        if (stored is not null)
        {
            info.CacheKey = stored.Record.Key;
            info.CreatedAt = stored.Record.CreatedAt;
            info.ExpiresAt = stored.Record.ExpiresAt;
        }

        var what = $"{request.Method} {request.RequestUri}: {decision.Reason.ToId()}";
        info.Add(CacheEventId.Decision, CacheDiagnosticLevel.Verbose, decision.Action switch
        {
            LookupAction.Serve => $"{what}, served from the cache (age {decision.Age.TotalSeconds:0}s, {ExpiryText(stored!.Record.ExpiresAt)}).",
            LookupAction.ServeAndRefresh => $"{what}, served stale from the cache (age {decision.Age.TotalSeconds:0}s, expired {stored!.Record.ExpiresAt:u}).",
            LookupAction.Revalidate => $"{what}, revalidating with {(stored!.ETag is not null ? "If-None-Match " + stored.ETag : "If-Modified-Since " + stored.LastModified)}.",
            LookupAction.NotCached => $"{what}, answered 504 Not Cached without contacting the origin.",
            _ => $"{what}, fetching from the origin.",
        });
    }

    private static string ExpiryText(DateTimeOffset? expiresAt) =>
        expiresAt is { } at ? $"fresh until {at:u}" : "never expires";

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            stopping.Cancel();
            stopping.Dispose();
        }

        base.Dispose(disposing);
    }
}
