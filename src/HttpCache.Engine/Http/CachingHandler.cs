using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
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
public sealed partial class CachingHandler : DelegatingHandler
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

    /// <summary>Body-less requests' primary keys, 4,096 at most (<see cref="BodylessPrimaryKey"/>).</summary>
    private readonly BoundedMemo<(string Method, string? Host, string Url), string> primaryKeys = new(4096);
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
    /// <remarks>
    /// A request without a body is looked up before anything is awaited: when the store answers at once (Memory,
    /// SQLite, FileSystem) and the stored answer is served, the hit completes without a state machine.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
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
                return BypassAsync(request, options, info, bypass.Value, cancellationToken);
            }

            if (request.Content is not null || request.Method == HttpMethod.Head)
            {
                return SendWithBodyOrHeadAsync(request, options, info, cancellationToken);
            }

            var primaryKey = BodylessPrimaryKey(request.Method.Method, request);
            info.CacheKey = primaryKey;
            var found = FindAsync(primaryKey, request, info, cancellationToken);
            if (found.IsCompletedSuccessfully && found.Result is { Stored: { } stored, StoreUsable: true })
            {
                var now = time.GetUtcNow();
                var decision = CachePolicy.Lookup(request, stored, settings, options, now);
                if (decision.Action == LookupAction.Serve)
                {
                    Describe(info, request, decision, stored);
                    return ServeStoredAsync(request, stored, decision, info, now, StaleReason(decision), options, cancellationToken);
                }
            }

            return AfterLookupAsync(request, options, info, null, primaryKey, null, found, cancellationToken);
        }
        catch (Exception ex)
        {
            return Task.FromException<HttpResponseMessage>(ex);
        }
    }

    /// <summary>A request with a body (keyed by its digest) or a HEAD (answered from a stored GET when it can be).</summary>
    private async Task<HttpResponseMessage> SendWithBodyOrHeadAsync(HttpRequestMessage request, CacheRequestOptions options, CacheResponseInfo info, CancellationToken cancellationToken)
    {
        byte[]? body = null;
        if (request.Content is not null)
        {
            // Buffered so the digest can be taken and the same bytes still sent.
            await request.Content.LoadIntoBufferAsync().ConfigureAwait(false);
            body = await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        }

        var primaryKey = body is null
            ? BodylessPrimaryKey(request.Method.Method, request)
            : CacheKey.Primary(request.Method.Method, request.RequestUri!, body, request.Content?.Headers.ContentType?.MediaType, settings, request.Headers.Host);
        info.CacheKey = primaryKey;

        var (storedGet, getUsable, headAnswer) = await HeadFromStoredGetAsync(request, options, info, cancellationToken).ConfigureAwait(false);
        if (headAnswer is not null)
        {
            return headAnswer;
        }

        // A store that just failed the GET lookup is not asked again (one failure, one count).
        var found = getUsable ? FindAsync(primaryKey, request, info, cancellationToken) : new ValueTask<(StoredResponse?, bool)>((null, false));
        return await AfterLookupAsync(request, options, info, body, primaryKey, storedGet, found, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> AfterLookupAsync(HttpRequestMessage request, CacheRequestOptions options, CacheResponseInfo info, byte[]? body, string primaryKey, StoredResponse? storedGet, ValueTask<(StoredResponse? Stored, bool StoreUsable)> found, CancellationToken cancellationToken)
    {
        var (stored, storeUsable) = await found.ConfigureAwait(false);
        var now = time.GetUtcNow();
        var decision = storeUsable
            ? CachePolicy.Lookup(request, stored, settings, options, now)
            : CachePolicy.Lookup(request, null, settings, options, now) with { Reason = CacheReason.BypassStoreFailure };
        if (CachePolicy.HasCacheConditional(request) && decision.Action is not (LookupAction.Serve or LookupAction.NotCached))
        {
            // §4.3.2: only a stored answer the cache would serve answers the caller's conditional; otherwise
            // the request goes to the origin as the caller wrote it, with the caller's validators.
            return await BypassAsync(request, options, info, CacheReason.BypassConditionalRequest, cancellationToken).ConfigureAwait(false);
        }

        if (decision.Action == LookupAction.Fetch && storeUsable
            && await ServeFromPartAsync(request, primaryKey, options, info, cancellationToken).ConfigureAwait(false) is { } fromPart)
        {
            return fromPart;
        }

        Describe(info, request, decision, stored);

        switch (decision.Action)
        {
            case LookupAction.Serve:
                return await ServeStoredAsync(request, stored!, decision, info, now, StaleReason(decision), options, cancellationToken).ConfigureAwait(false);
            case LookupAction.ServeAndRefresh:
                StartRefresh(request, body, options, stored!, info);
                return Hit(request, stored!, decision, info, now, "stale-while-revalidate");
            case LookupAction.NotCached:
                counters.Increment(CacheCounter.Misses);
                return NotCached(request);
        }

        // Identical misses coalesce: one caller asks the origin, the others wait and then read its stored answer.
        // A Range request does not lead: its 206 is at most a part, which does not answer the others.
        TaskCompletionSource? flight = null;
        if (options.Mode == CacheMode.Default && storeUsable && body is null && !request.Headers.NonValidated.Contains("Range"))
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
            return await ExchangeAsync(request, options, info, decision, stored, storedGet, primaryKey, storeUsable, cancellationToken).ConfigureAwait(false);
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

    private async Task<HttpResponseMessage> ExchangeAsync(HttpRequestMessage request, CacheRequestOptions options, CacheResponseInfo info, LookupDecision decision, StoredResponse? stored, StoredResponse? storedGet, string primaryKey, bool storeUsable, CancellationToken cancellationToken)
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
        if (storedGet is not null && response.StatusCode == HttpStatusCode.OK && storeUsable)
        {
            await FreshenFromHeadAsync(request, response, storedGet, options, info, requestTime, responseTime, cancellationToken).ConfigureAwait(false);
        }

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

        if (response.StatusCode == HttpStatusCode.PartialContent)
        {
            return await StorePartAsync(request, callerHeaders, response, primaryKey, storeDecision, requestTime, responseTime, info, cancellationToken).ConfigureAwait(false);
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
        if (await TryWriteAsync(entry, info, cancellationToken).ConfigureAwait(false))
        {
            info.CacheKey = entry.Record.Key;
            info.CreatedAt = responseTime;
            info.ExpiresAt = storeDecision.ExpiresAt;
            info.Add(CacheEventId.Store, CacheDiagnosticLevel.Verbose, $"Stored as {entry.Record.Key}, {ExpiryText(storeDecision.ExpiresAt)}.");
        }

        if (CachePolicy.PostAnswersGet(request, response, settings, responseTime))
        {
            // RFC 9110 §9.3.3: this answer is also the target's current representation, for a later GET.
            var getKey = BodylessPrimaryKey("GET", request);
            var asGet = NewEntry(request, callerHeaders, response, getKey, storeDecision, requestTime, responseTime, responseBody, "GET");
            if (await TryWriteAsync(asGet, info, cancellationToken).ConfigureAwait(false))
            {
                info.Add(CacheEventId.Store, CacheDiagnosticLevel.Verbose, $"Also stored as {asGet.Record.Key} for GET: the answer's Content-Location is the POST's target.");
            }
        }

        return response;
    }

    private static string? StaleReason(LookupDecision decision) => decision.Reason switch
    {
        CacheReason.StaleHitMaxStale => "max-stale",
        CacheReason.StaleHitOnlyIfCached => "only-if-cached",
        _ => null,
    };

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
