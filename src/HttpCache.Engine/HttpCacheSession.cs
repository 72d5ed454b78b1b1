using System.Net;
using System.Runtime.CompilerServices;
using HttpCache.Engine.Diagnostics;
using HttpCache.Engine.Http;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.FileSystem;
using HttpCache.Engine.Storage.Memory;
using HttpCache.Engine.Storage.Redis;
using HttpCache.Engine.Storage.Sqlite;

namespace HttpCache.Engine;

/// <summary>The backends a session can be created over by name.</summary>
public enum CacheBackend
{
    /// <summary>An embedded SQLite file (the default).</summary>
    Sqlite,
    /// <summary>Process memory: gone with the session.</summary>
    Memory,
    /// <summary>A folder: one body file and one metadata file per entry.</summary>
    FileSystem,
    /// <summary>A Redis server or cluster, shared by every machine that points at it.</summary>
    Redis,
}

/// <summary>What <see cref="HttpCacheSession.Create"/> needs.</summary>
public sealed record HttpCacheSessionOptions
{
    /// <summary>A name to tell sessions apart.</summary>
    public string? Name { get; init; }

    /// <summary>The backend.</summary>
    public CacheBackend Backend { get; init; } = CacheBackend.Sqlite;

    /// <summary>Where a file backend keeps its data; null: the platform's user cache folder (SQLite only).</summary>
    public string? Path { get; init; }

    /// <summary>A StackExchange.Redis configuration string, for the Redis backend.</summary>
    public string? RedisConfiguration { get; init; }

    /// <summary>
    /// A connection the caller already holds, for the Redis backend: an <c>IConnectionMultiplexer</c> of
    /// the StackExchange.Redis this engine loads (typed as object so hosts need not reference it).
    /// </summary>
    public object? RedisConnection { get; init; }

    /// <summary>The prefix of every Redis key, so several caches share one server.</summary>
    public string Namespace { get; init; } = RedisCacheStore.DefaultNamespace;

    /// <summary>The bounds the store keeps to.</summary>
    public StoreLimits Limits { get; init; } = StoreLimits.None;

    /// <summary>The caching rules.</summary>
    public CacheSettings Settings { get; init; } = CacheSettings.Default;

    /// <summary>The clock; the system clock when null.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>The handler that reaches the network; a decompressing, redirect-following handler when null.</summary>
    public HttpMessageHandler? InnerHandler { get; init; }

    /// <summary>
    /// When the store cannot be opened (a full disk, a read-only folder, a file that is not a cache, a folder at
    /// the path), use a memory store instead of failing, and say why in <see cref="HttpCacheSession.StoreFallback"/>.
    /// For the default session, whose location the user never chose: a request must not fail because of it.
    /// </summary>
    public bool FallBackToMemory { get; init; }
}

/// <summary>Everything <see cref="HttpCacheSession.GetStatisticsAsync"/> reports.</summary>
/// <param name="Cumulative">Every session's and process's figures, as persisted in the store.</param>
/// <param name="Session">This session's own figures.</param>
/// <param name="Inventory">What the store holds.</param>
/// <param name="Unsaved">Why this session's latest figures could not be saved in the store (a full disk, a read-only
/// file); they are counted in <paramref name="Cumulative"/> all the same, and saved once the store can be written.
/// Null when they were saved.</param>
public sealed record CacheStatistics(CacheCounterSet Cumulative, CacheCounterSet Session, StoreInventory Inventory, string? Unsaved = null);

/// <summary>
/// A cache in use: settings, a store and an <see cref="HttpClient"/> whose handler chain holds the
/// <see cref="CachingHandler"/>. Safe to use from many threads at once.
/// </summary>
public sealed class HttpCacheSession : IDisposable, IAsyncDisposable
{
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan PurgeInterval = TimeSpan.FromMinutes(5);
    private DateTimeOffset lastPurge = DateTimeOffset.MinValue;
    private readonly AccessLog accessLog = new();
    private readonly SemaphoreSlim flushGate = new(1, 1);
    private long lastFlushTicks;
    private int disposed;

    // HttpClient's own layer (a linked token source per call, its content buffering) buys nothing when the caller
    // reads the body itself: ResponseHeadersRead calls go straight to the handler chain.
    private readonly HttpMessageInvoker invoker;

    /// <summary>Creates a session over a store the caller made.</summary>
    public HttpCacheSession(ICacheStore store, CacheSettings? settings = null, TimeProvider? timeProvider = null, HttpMessageHandler? innerHandler = null, string? name = null)
    {
        Store = store ?? throw new ArgumentNullException(nameof(store));
        Settings = settings ?? CacheSettings.Default;
        KeySecretSource = Settings.KeySecret is null ? KeySecretSource.None : KeySecretSource.Given;
        Time = timeProvider ?? TimeProvider.System;
        Name = string.IsNullOrWhiteSpace(name) ? "default" : name;
        CreatedAt = Time.GetUtcNow();
        lastFlushTicks = CreatedAt.UtcTicks;
        Transport = innerHandler is null ? new TransportHandler(Time) : new TransportHandler(innerHandler, Time);
        Handler = new CachingHandler(Store, Settings, Time, Counters, Transport, accessLog);
        Client = new HttpClient(Handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        invoker = new HttpMessageInvoker(Handler, disposeHandler: false);
    }

    /// <summary>Creates a session and its store from options. Bad options throw <see cref="ArgumentException"/>.</summary>
    public static HttpCacheSession Create(HttpCacheSessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Path is not null && options.Backend is CacheBackend.Memory or CacheBackend.Redis)
        {
            throw new ArgumentException($"-Path does not apply to the {options.Backend} backend.", nameof(options));
        }

        if ((options.RedisConfiguration is not null || options.RedisConnection is not null) && options.Backend != CacheBackend.Redis)
        {
            throw new ArgumentException("A Redis configuration or connection needs the Redis backend.", nameof(options));
        }

        ICacheStore store;
        string? fallback = null;
        try
        {
            store = CreateStore(options);
        }
        catch (CacheStoreException ex) when (options.FallBackToMemory)
        {
            store = new MemoryCacheStore(options.Limits);
            fallback = ex.Message;
        }

        var (secret, source) = KeySecrets.Resolve(options.Settings.KeySecret, options.Backend, out var problem);
        return new HttpCacheSession(store, options.Settings with { KeySecret = secret }, options.TimeProvider, options.InnerHandler, options.Name)
        {
            KeySecretSource = source,
            KeySecretProblem = problem,
            StoreFallback = fallback,
        };
    }

    /// <summary>Where the key secret of the session's digests came from (<see cref="Create"/> resolves it).</summary>
    public KeySecretSource KeySecretSource { get; private init; }

    /// <summary>Why the user's key file could not be used, when it could not; else null.</summary>
    public string? KeySecretProblem { get; private init; }

    private static ICacheStore CreateStore(HttpCacheSessionOptions options) => options.Backend switch
    {
        CacheBackend.Memory => new MemoryCacheStore(options.Limits),
        CacheBackend.FileSystem => new FileSystemCacheStore(
            options.Path ?? throw new ArgumentException("The FileSystem backend needs a -Path (a folder).", nameof(options)), options.Limits),
        CacheBackend.Redis => CreateRedisStore(options),
        _ => new SqliteCacheStore(CachePaths.ResolveSqlitePath(options.Path), null, options.Limits),
    };

    private static RedisCacheStore CreateRedisStore(HttpCacheSessionOptions options)
    {
        if (options.RedisConnection is not null)
        {
            return options.RedisConnection is StackExchange.Redis.IConnectionMultiplexer connection
                ? new RedisCacheStore(connection, options.Namespace, options.Limits)
                : throw new ArgumentException(
                    $"The Redis connection is a {options.RedisConnection.GetType().FullName} from another copy of StackExchange.Redis; pass a configuration string instead, or the RedisConnection of another HttpCache session.",
                    nameof(options));
        }

        return new RedisCacheStore(options.RedisConfiguration ?? "127.0.0.1:6379", options.Namespace, options.Limits);
    }

    /// <summary>The session's name.</summary>
    public string Name { get; }

    /// <summary>The caching rules.</summary>
    public CacheSettings Settings { get; }

    /// <summary>The store.</summary>
    public ICacheStore Store { get; }

    /// <summary>
    /// Why <see cref="Store"/> is a memory store for this process instead of the store asked for (which could not be
    /// opened: the message says why), with <see cref="HttpCacheSessionOptions.FallBackToMemory"/>; null otherwise.
    /// </summary>
    public string? StoreFallback { get; private init; }

    /// <summary>
    /// The Redis connection of a Redis session (an <c>IConnectionMultiplexer</c>, typed as object so hosts
    /// need not reference StackExchange.Redis), to reuse in another session; null for other backends.
    /// </summary>
    public object? RedisConnection => (Store as RedisCacheStore)?.Connection;

    /// <summary>The clock every decision uses.</summary>
    public TimeProvider Time { get; }

    /// <summary>When the session was created.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>This session's counters.</summary>
    public CacheCounters Counters { get; } = new();

    /// <summary>The caching handler (to put in another handler chain, if wanted).</summary>
    public CachingHandler Handler { get; }

    /// <summary>The handler under the cache that pools one network handler per distinct <see cref="TransportSettings"/>.</summary>
    public TransportHandler Transport { get; }

    /// <summary>A client whose requests go through the cache. No timeout of its own: pass a token.</summary>
    public HttpClient Client { get; }

    /// <summary>Sends a request through the cache with per-request options.</summary>
    /// <remarks>A hit from a store that answers at once (Memory, SQLite, FileSystem) returns a completed task.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CacheRequestOptions? options = null, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (disposed != 0)
        {
            return Task.FromException<HttpResponseMessage>(new ObjectDisposedException(GetType().FullName));
        }

        if (options is not null)
        {
            request.Options.Set(CachingHandler.OptionsKey, options);
            if ((options.CallerIdentity ?? options.Transport?.CallerIdentity) is { } caller)
            {
                request.Options.Set(CacheRequestOptions.CallerKey, caller);
            }
        }

        var sent = completion == HttpCompletionOption.ResponseHeadersRead
            ? invoker.SendAsync(request, cancellationToken)
            : Client.SendAsync(request, completion, cancellationToken);
        if (sent.IsCompletedSuccessfully)
        {
            FlushInBackgroundWhenDue();
            return sent;
        }

        return FlushWhenSentAsync(sent);
    }

    private async Task<HttpResponseMessage> FlushWhenSentAsync(Task<HttpResponseMessage> sent)
    {
        var response = await sent.ConfigureAwait(false);
        FlushInBackgroundWhenDue();
        return response;
    }

    /// <summary>True when the entry is past its fresh-until time now.</summary>
    public bool IsExpired(CacheRecordInfo entry) => entry.ExpiresAt is { } at && Time.GetUtcNow() >= at;

    /// <summary>The stored entries the query matches, oldest first.</summary>
    public async IAsyncEnumerable<CacheRecordInfo> GetEntriesAsync(CacheQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Listing is a read: a store that cannot take the pending hit counts now (a full disk) lists all the same,
        // and this session's latest hits show in HitCount once they can be saved.
        await TryFlushAsync(cancellationToken).ConfigureAwait(false);
        var indexed = Store is IUriIndexedStore || !query.FiltersUri;
        var storeQuery = indexed ? query : query with { Uri = null, UriPrefix = null };
        await foreach (var entry in Store.ListAsync(storeQuery, cancellationToken).ConfigureAwait(false))
        {
            if (indexed || query.MatchesUri(entry.Uri))
            {
                yield return entry;
            }
        }
    }

    /// <summary>
    /// What the store holds per host, ordered by host. A store that keeps per-host figures (<see cref="IHostIndexedStore"/>)
    /// answers itself; for the others every entry is listed and grouped here, so the cost grows with the store.
    /// </summary>
    public async Task<IReadOnlyList<HostInventory>> GetHostInventoryAsync(CancellationToken cancellationToken = default)
    {
        if (Store is IHostIndexedStore indexed)
        {
            // As a listing does: this session's latest hits go to the store first, unless it cannot take them now.
            await TryFlushAsync(cancellationToken).ConfigureAwait(false);
            return await indexed.GetHostInventoryAsync(Time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        }

        var entries = new List<CacheRecordInfo>();
        await foreach (var entry in GetEntriesAsync(CacheQuery.All, cancellationToken).ConfigureAwait(false))
        {
            entries.Add(entry);
        }

        return HostInventory.FromEntries(entries, Time.GetUtcNow());
    }

    /// <summary>Removes the entries the query matches; returns how many went.</summary>
    public async Task<int> RemoveEntriesAsync(CacheQuery query, CancellationToken cancellationToken = default)
    {
        await Handler.DrainWritesAsync(cancellationToken).ConfigureAwait(false);
        if (Store is IUriIndexedStore || !query.FiltersUri)
        {
            return await Store.RemoveAsync(query, cancellationToken).ConfigureAwait(false);
        }

        var removed = 0;
        await foreach (var entry in GetEntriesAsync(query, cancellationToken).ConfigureAwait(false))
        {
            removed += await Store.RemoveAsync(new CacheQuery { Key = entry.Key }, cancellationToken).ConfigureAwait(false);
        }

        return removed;
    }

    /// <summary>
    /// Gives one stored entry a new expiration, counted from now. DoNotCache is refused: removing entries
    /// is Remove's job, not a side effect of resetting a clock.
    /// </summary>
    public async Task<bool> ResetExpirationAsync(string key, Expiration expiration, CancellationToken cancellationToken = default)
    {
        if (expiration.IsDoNotCache)
        {
            throw new ArgumentException("DoNotCache cannot be applied to stored entries; remove them instead.", nameof(expiration));
        }

        var expiresAt = expiration.ExpiresAt(Time.GetUtcNow());
        var keepUntil = expiresAt is { } fresh && Settings.KeepExpiredFor is { } grace ? fresh + grace : (DateTimeOffset?)null;
        await Handler.DrainWritesAsync(cancellationToken).ConfigureAwait(false);
        return await Store.UpdateExpirationAsync(key, expiresAt, keepUntil, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Persists pending counters and hit counts, then reports the figures. Reading needs no free space: when the
    /// store cannot be written (a full disk), the pending figures are added to what the store holds and stay
    /// pending, and <see cref="CacheStatistics.Unsaved"/> says why.
    /// </summary>
    public async Task<CacheStatistics> GetStatisticsAsync(CancellationToken cancellationToken = default)
    {
        var unsaved = await TryFlushAsync(cancellationToken).ConfigureAwait(false);
        var stored = await Store.GetCountersAsync(cancellationToken).ConfigureAwait(false);
        if (unsaved is not null)
        {
            var pending = Counters.TakePending();
            Counters.ReturnPending(pending);
            var sum = new Dictionary<string, long>(stored, StringComparer.Ordinal);
            foreach (var (name, value) in pending)
            {
                sum[name] = sum.GetValueOrDefault(name) + value;
            }

            stored = sum;
        }

        var inventory = await Store.GetInventoryAsync(cancellationToken).ConfigureAwait(false);
        return new CacheStatistics(CacheCounters.FromStore(stored), Counters.Snapshot(), inventory, unsaved);
    }

    /// <summary>
    /// <see cref="FlushAsync"/> for a read that must not fail for it: a store that cannot be written now (a full disk,
    /// a read-only file, another process holding the write lock past the busy timeout) leaves the figures pending,
    /// and its message is returned. Reading needs neither space nor the write lock (SQLite's WAL lets readers past a
    /// writer), so the figures are still shown.
    /// </summary>
    private async Task<string?> TryFlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (CacheStoreException ex) when (ex.Failure is CacheStoreFailure.Unwritable or CacheStoreFailure.Locked)
        {
            return ex.Message;
        }
    }

    /// <summary>
    /// Adds this session's pending counters and hit counts to the store. A failure keeps them pending for
    /// the next flush and is reported to the caller.
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await Handler.DrainWritesAsync(cancellationToken).ConfigureAwait(false);
        await flushGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Interlocked.Exchange(ref lastFlushTicks, Time.GetUtcNow().UtcTicks);
            var deltas = Counters.TakePending();
            if (deltas.Count > 0)
            {
                try
                {
                    await Store.AddCountersAsync(deltas, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    Counters.ReturnPending(deltas);
                    throw;
                }
            }

            if (!accessLog.IsEmpty)
            {
                // Hit counts are informative; losing one batch to a failing store is acceptable.
                await Store.RecordAccessAsync(accessLog.Take(), cancellationToken).ConfigureAwait(false);
            }

            var now = Time.GetUtcNow();
            if (Settings.KeepExpiredFor is not null && now - lastPurge >= PurgeInterval)
            {
                // The second clock: entries past their kept-until time go, a batch at a time, while the session works.
                lastPurge = now;
                await Store.RemoveAsync(new CacheQuery { KeepUntilAsOf = now }, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            flushGate.Release();
        }
    }

    private void FlushInBackgroundWhenDue()
    {
        var last = Interlocked.Read(ref lastFlushTicks);
        if (Time.GetUtcNow().UtcTicks - last < FlushInterval.Ticks || flushGate.CurrentCount == 0)
        {
            return;
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await FlushAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The figures stay pending; the store's failure already shows on the requests themselves.
            }
        });
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        await Handler.StopBackgroundWorkAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        try
        {
            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await FlushAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Disposal must not fail because the store is gone; the figures are lost with it.
        }

        Client.Dispose();
        invoker.Dispose();
        Handler.Dispose();
        await Store.DisposeAsync().ConfigureAwait(false);
        flushGate.Dispose();
    }
}
