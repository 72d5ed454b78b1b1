using System.Runtime.CompilerServices;
using StackExchange.Redis;

namespace HttpCache.Engine.Storage.Redis;

/// <summary>
/// A store on a Redis server, a Redis Cluster or anything StackExchange.Redis connects to (TLS, ACL users,
/// Sentinel), shared by every process that uses the same namespace. Entries carry native TTLs taken from
/// <see cref="CacheRecordInfo.KeepUntil"/>, so Redis drops them by itself.
/// </summary>
/// <remarks>
/// <para>Key layout: see <see cref="RedisKeyLayout"/>. An entry and its primary key's variant set share a hash
/// slot, so reading the variants of one primary key is one script call (one round trip), in a Cluster too.
/// Listing, bulk removal and the inventory SCAN every primary for the namespace.</para>
/// <para>Outages cost little: while the connection to the server a call needs is down, the call fails at
/// once with <see cref="CacheStoreFailure.Unavailable"/>, and the multiplexer reconnects in the background;
/// the same store works again when the server is back.</para>
/// <para>The time to keep an entry is <see cref="CacheRecordInfo.KeepUntil"/> minus the store's clock (the
/// engine's <see cref="TimeProvider"/>), set as a relative TTL: with the system clock this is EXPIREAT by
/// another name, it does not depend on the client's and the server's clocks agreeing, and under a fake clock
/// it keeps the engine's notion of time. An entry whose keep-until has already passed is not stored.</para>
/// </remarks>
public sealed class RedisCacheStore : ICacheStore
{
    /// <summary>The namespace used when none is given.</summary>
    public const string DefaultNamespace = "http_cache";

    /// <summary>The connect timeout used when the configuration string sets none.</summary>
    public static TimeSpan DefaultConnectTimeout { get; } = TimeSpan.FromSeconds(1);

    /// <summary>The sync and async command timeouts used when the configuration string sets none.</summary>
    public static TimeSpan DefaultCommandTimeout { get; } = TimeSpan.FromSeconds(1);

    private const int ScanPageSize = 500;
    private const int EvictionBatch = 32;
    private const int MaxEvictionRounds = 64;
    private const int ArgumentChunk = 1000;

    private static readonly RedisValue[] InfoFields =
    [
        RedisScripts.Key, RedisScripts.PrimaryKey, RedisScripts.Method, RedisScripts.Uri, RedisScripts.Status,
        RedisScripts.CreatedAt, RedisScripts.ExpiresAt, RedisScripts.KeepUntil, RedisScripts.Size, RedisScripts.Hits,
        RedisScripts.LastAccessedAt,
    ];

    private static readonly RedisValue[] RecordFields = [.. InfoFields, RedisScripts.Metadata, RedisScripts.Body];

    private readonly ConnectionMultiplexer? _ownedConnection;
    private readonly IConnectionMultiplexer _connection;

    /// <summary>The connection the store uses, to share with another store or session.</summary>
    public IConnectionMultiplexer Connection => _connection;
    private readonly IDatabase _db;
    private readonly RedisKeyLayout _keys;
    private readonly RedisKey[] _lruKeys;
    private readonly TimeProvider _time;
    private readonly string _endpoints;
    private volatile bool _disposed;

    /// <summary>
    /// Connects with a StackExchange.Redis configuration string, e.g. <c>localhost:6379</c>,
    /// <c>host:6380,ssl=true,user=app,password=…</c> or the endpoints of a Cluster. Unless the string says
    /// otherwise, the store does not fail when the server is down (<c>abortConnect=false</c>: it connects in
    /// the background), waits at most <see cref="DefaultConnectTimeout"/> here and
    /// <see cref="DefaultCommandTimeout"/> for a command, and fails commands at once while disconnected.
    /// The store owns this connection and closes it when disposed.
    /// </summary>
    /// <param name="configuration">A StackExchange.Redis configuration string.</param>
    /// <param name="namespace">The prefix of every key: 1 to 200 letters, digits and '.', '_', '-', ':', '/'.</param>
    /// <param name="limits">Bounds for the namespace, kept by least-recently-used eviction; null: none.</param>
    /// <param name="timeProvider">The clock keep-until times are measured against; null: the system clock.</param>
    /// <exception cref="ArgumentException">The configuration string or the namespace is not valid.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A bound in <paramref name="limits"/> is below 1.</exception>
    /// <exception cref="CacheStoreException">The connection cannot be set up at all (<c>abortConnect=true</c> and the server is down).</exception>
    public RedisCacheStore(string configuration, string @namespace = DefaultNamespace, StoreLimits? limits = null, TimeProvider? timeProvider = null)
        : this(new RedisKeyLayout(@namespace), Validated(limits), Connect(configuration), owned: true, timeProvider)
    {
    }

    /// <summary>
    /// Uses a connection the caller holds (and keeps: disposing the store does not close it). Its own
    /// settings apply; set <c>abortConnect=false</c>, short timeouts and <see cref="BacklogPolicy.FailFast"/>
    /// on it for the outage behaviour of the other constructor.
    /// </summary>
    /// <param name="connection">An open multiplexer.</param>
    /// <param name="namespace">The prefix of every key: 1 to 200 letters, digits and '.', '_', '-', ':', '/'.</param>
    /// <param name="limits">Bounds for the namespace, kept by least-recently-used eviction; null: none.</param>
    /// <param name="timeProvider">The clock keep-until times are measured against; null: the system clock.</param>
    public RedisCacheStore(IConnectionMultiplexer connection, string @namespace = DefaultNamespace, StoreLimits? limits = null, TimeProvider? timeProvider = null)
        : this(new RedisKeyLayout(@namespace), Validated(limits), connection ?? throw new ArgumentNullException(nameof(connection)), owned: false, timeProvider)
    {
    }

    // The arguments are checked before the connection is made, so a bad one leaves nothing open.
    private RedisCacheStore(RedisKeyLayout keys, StoreLimits limits, IConnectionMultiplexer connection, bool owned, TimeProvider? timeProvider)
    {
        _keys = keys;
        _connection = connection;
        _ownedConnection = owned ? (ConnectionMultiplexer)connection : null;
        _db = connection.GetDatabase();
        _lruKeys = [keys.Lru, keys.Sizes, keys.Keep, keys.Bytes];
        _time = timeProvider ?? TimeProvider.System;
        Limits = limits;
        // Configured endpoints only: no password, and what the user wrote rather than every discovered node.
        _endpoints = string.Join(",", connection.GetEndPoints(configuredOnly: true).Select(EndPointCollection.ToString));
        if (_endpoints.Length == 0)
        {
            _endpoints = string.Join(",", connection.GetEndPoints().Select(EndPointCollection.ToString));
        }
    }

    /// <inheritdoc />
    public string BackendName => "Redis";

    /// <summary>The configured endpoints and the namespace, e.g. <c>127.0.0.1:6379 (namespace http_cache)</c>.</summary>
    public string Location => $"{_endpoints} (namespace {_keys.Namespace})";

    /// <summary>
    /// True when a server answers now. The constructor waits for the first connection at most the connect
    /// timeout, so right after it this says whether the address was reachable.
    /// </summary>
    public bool IsConnected => _connection.IsConnected;

    /// <summary>The configured endpoints, e.g. <c>127.0.0.1:6379</c>.</summary>
    public string Endpoints => _endpoints;

    /// <summary>The prefix of every key this store reads or writes.</summary>
    public string Namespace => _keys.Namespace;

    /// <summary>The bounds the namespace is kept to.</summary>
    public StoreLimits Limits { get; }

    /// <inheritdoc />
    public async Task<IReadOnlyList<CacheRecord>> GetVariantsAsync(string primaryKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(primaryKey);
        cancellationToken.ThrowIfCancellationRequested();
        var variants = _keys.Variants(primaryKey);
        EnsureUsable(variants);
        RedisResult result;
        try
        {
            result = await _db.ScriptEvaluateAsync(RedisScripts.GetVariants, [variants], [_keys.EntryPrefix(primaryKey), 1])
                .WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }

        var rows = (RedisResult[]?)result ?? [];
        if (rows.Length == 0)
        {
            return [];
        }

        var records = new CacheRecord[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            records[i] = ReadRecord((RedisValue[]?)rows[i] ?? []);
        }

        return records;
    }

    /// <inheritdoc />
    public async Task<CacheRecord?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();
        var index = _keys.Index(key);
        EnsureUsable(index);
        try
        {
            var primaryKey = await _db.StringGetAsync(index).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (primaryKey.IsNull)
            {
                return null;
            }

            var entry = _keys.Entry((string)primaryKey!, key);
            EnsureUsable(entry);
            var values = await _db.HashGetAsync(entry, RecordFields).WaitAsync(cancellationToken).ConfigureAwait(false);
            return values[0].IsNull ? null : ReadRecord(values);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Two round trips, each step atomic on its own slot: the key's index (which also reports the primary key
    /// it was under before) and the entry with its variant set; then the limits' bookkeeping (and the old
    /// variant, when the key moved to another primary key); then, when a bound is crossed, eviction. An
    /// entry over <see cref="StoreLimits.MaxBytes"/> on its own, or whose keep-until has passed, is not
    /// stored, and an older entry with its key is removed.
    /// </remarks>
    public async Task SetAsync(CacheRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        cancellationToken.ThrowIfCancellationRequested();
        var size = (long)record.Metadata.Length + record.Body.Length;
        var keep = KeepMilliseconds(record.KeepUntil);
        var index = _keys.Index(record.Key);
        var entry = _keys.Entry(record.PrimaryKey, record.Key);
        EnsureUsable(index);
        EnsureUsable(entry);
        try
        {
            if (!Admits(size) || keep <= 0)
            {
                await RemoveKeysAsync([record.Key], cancellationToken).ConfigureAwait(false);
                return;
            }

            // The index and the entry first, together; the bookkeeping only once both are there, so an evictor
            // (in any process) that finds the key in it also finds the entry to remove.
            var indexing = _db.StringSetAndGetAsync(
                index, record.PrimaryKey, keep is { } ms ? TimeSpan.FromMilliseconds(ms) : null, keepTtl: false, When.Always);
            var writing = _db.ScriptEvaluateAsync(RedisScripts.Set, [entry, _keys.Variants(record.PrimaryKey)], SetArguments(record, size, keep));
            await Task.WhenAll(indexing, writing).WaitAsync(cancellationToken).ConfigureAwait(false);

            Task moving = Task.CompletedTask;
            var previous = await indexing.ConfigureAwait(false);
            if (!previous.IsNull && (string?)previous is { } oldPrimaryKey && !string.Equals(oldPrimaryKey, record.PrimaryKey, StringComparison.Ordinal))
            {
                // The key moved to another primary key: its old variant goes.
                moving = RemoveFromVariantSetAsync(oldPrimaryKey, [record.Key]);
            }

            var lru = _db.ScriptEvaluateAsync(RedisScripts.LruRecord, _lruKeys,
            [
                record.Key,
                size,
                Milliseconds(record.LastAccessedAt ?? record.CreatedAt),
                record.KeepUntil is { } keepUntil ? keepUntil.ToUnixTimeMilliseconds() : RedisValue.EmptyString,
            ]);
            await Task.WhenAll(moving, lru).WaitAsync(cancellationToken).ConfigureAwait(false);

            var (entries, bytes) = Totals(await lru.ConfigureAwait(false));
            await EnforceLimitsAsync(entries, bytes, record.Key, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }
    }

    /// <inheritdoc />
    public async Task<int> RemoveAsync(CacheQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            var doomed = await FindAsync(query, cancellationToken).ConfigureAwait(false);
            if (doomed.Count == 0)
            {
                return 0;
            }

            return await RemoveEntriesAsync(doomed.Select(i => (i.Key, i.PrimaryKey)).ToList(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }
    }

    /// <inheritdoc />
    /// <remarks>The entry's TTL (and its index's and variant set's) follows the new keep-until.</remarks>
    public async Task<bool> UpdateExpirationAsync(string key, DateTimeOffset? expiresAt, DateTimeOffset? keepUntil, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();
        var index = _keys.Index(key);
        EnsureUsable(index);
        try
        {
            var found = await _db.StringGetAsync(index).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (found.IsNull)
            {
                return false;
            }

            var primaryKey = (string)found!;
            var entry = _keys.Entry(primaryKey, key);
            EnsureUsable(entry);
            var keep = KeepMilliseconds(keepUntil);
            var updated = await _db.ScriptEvaluateAsync(
                    RedisScripts.UpdateExpiration,
                    [entry, _keys.Variants(primaryKey)],
                    [_keys.EntryPrefix(primaryKey), Ticks(expiresAt), Ticks(keepUntil), keep is { } ms ? ms : RedisValue.EmptyString])
                .WaitAsync(cancellationToken).ConfigureAwait(false);
            if ((int)updated == 0)
            {
                return false;
            }

            if (keep <= 0)
            {
                // Redis deleted the entry at once: its index and bookkeeping go with it.
                await Task.WhenAll(
                    _db.ScriptEvaluateAsync(RedisScripts.DeleteIndexIfOwned, [index], [primaryKey]),
                    _db.ScriptEvaluateAsync(RedisScripts.LruForget, _lruKeys, [key])).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await Task.WhenAll(
                    _db.KeyExpireAsync(index, keep is { } keepMs ? TimeSpan.FromMilliseconds(keepMs) : null),
                    _db.ScriptEvaluateAsync(RedisScripts.LruKeep, _lruKeys,
                        [key, keepUntil is { } k ? k.ToUnixTimeMilliseconds() : RedisValue.EmptyString])).WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            return true;
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// A listing by key or primary key reads those entries only; any other SCANs the namespace on every
    /// primary and sorts the matches in memory (without blobs).
    /// </remarks>
    public async IAsyncEnumerable<CacheRecordInfo> ListAsync(CacheQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        List<CacheRecordInfo> found;
        try
        {
            found = await FindAsync(query, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }

        found.Sort(static (a, b) =>
        {
            var byCreation = a.CreatedAt.UtcTicks.CompareTo(b.CreatedAt.UtcTicks);
            return byCreation != 0 ? byCreation : string.CompareOrdinal(a.Key, b.Key);
        });
        foreach (var info in found)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return info;
        }
    }

    /// <inheritdoc />
    /// <remarks>Counted by a SCAN of the namespace, so it agrees with what is there, TTLs included.</remarks>
    public async Task<StoreInventory> GetInventoryAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        List<CacheRecordInfo> all;
        try
        {
            all = await ScanAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }

        long bytes = 0;
        DateTimeOffset? oldest = null, newest = null;
        foreach (var info in all)
        {
            bytes += info.Size;
            if (oldest is null || info.CreatedAt < oldest)
            {
                oldest = info.CreatedAt;
            }

            if (newest is null || info.CreatedAt > newest)
            {
                newest = info.CreatedAt;
            }
        }

        return new StoreInventory(all.Count, bytes, oldest, newest);
    }

    /// <inheritdoc />
    /// <remarks>HINCRBY on one hash: atomic per counter across every process.</remarks>
    public async Task AddCountersAsync(IReadOnlyDictionary<string, long> deltas, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        cancellationToken.ThrowIfCancellationRequested();
        if (deltas.Count == 0)
        {
            return;
        }

        EnsureUsable(_keys.Counters);
        try
        {
            await Task.WhenAll(deltas.Select(d => _db.HashIncrementAsync(_keys.Counters, d.Key, d.Value)))
                .WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, long>> GetCountersAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        EnsureUsable(_keys.Counters);
        HashEntry[] entries;
        try
        {
            entries = await _db.HashGetAllAsync(_keys.Counters).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }

        var counters = new Dictionary<string, long>(entries.Length, StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            counters[(string)entry.Name!] = (long)entry.Value;
        }

        return counters;
    }

    /// <inheritdoc />
    public async Task RecordAccessAsync(IReadOnlyCollection<EntryAccess> accesses, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(accesses);
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (accesses.Count == 0)
        {
            return;
        }

        var list = accesses.ToList();
        foreach (var access in list)
        {
            EnsureUsable(_keys.Index(access.Key));
        }

        try
        {
            var primaryKeys = await Task.WhenAll(list.Select(a => _db.StringGetAsync(_keys.Index(a.Key))))
                .WaitAsync(cancellationToken).ConfigureAwait(false);
            var updates = new List<(string Key, Task<RedisResult> Update)>(list.Count);
            for (var i = 0; i < list.Count; i++)
            {
                if (primaryKeys[i].IsNull)
                {
                    continue;
                }

                var access = list[i];
                var entry = _keys.Entry((string)primaryKeys[i]!, access.Key);
                EnsureUsable(entry);
                updates.Add((access.Key, _db.ScriptEvaluateAsync(RedisScripts.RecordAccess, [entry], [access.Hits, access.LastAccessedAt.UtcTicks])));
            }

            await Task.WhenAll(updates.Select(u => u.Update)).WaitAsync(cancellationToken).ConfigureAwait(false);
            var touches = new List<RedisValue>(updates.Count * 2);
            foreach (var (key, update) in updates)
            {
                var lastAccess = await update.ConfigureAwait(false);
                if (!lastAccess.IsNull)
                {
                    touches.Add(key);
                    touches.Add(Milliseconds(new DateTimeOffset((long)lastAccess, TimeSpan.Zero)));
                }
            }

            if (touches.Count > 0)
            {
                await _db.ScriptEvaluateAsync(RedisScripts.LruTouch, _lruKeys, [.. touches]).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }
    }

    /// <inheritdoc />
    public async Task ClearCountersAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        EnsureUsable(_keys.Counters);
        try
        {
            await _db.KeyDeleteAsync(_keys.Counters).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex);
        }
    }

    /// <summary>Closes the connection when the store opened it; a connection given to the store stays open.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_ownedConnection is not null)
        {
            await _ownedConnection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static IConnectionMultiplexer Connect(string configuration)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(configuration);
        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(configuration);
        }
        catch (ArgumentException ex)
        {
            // Not the string itself in the message: it may hold a password.
            throw new ArgumentException($"The Redis configuration string is not valid: {ex.Message}", nameof(configuration), ex);
        }

        if (!Sets(configuration, "abortConnect"))
        {
            options.AbortOnConnectFail = false;
        }

        if (!Sets(configuration, "connectTimeout"))
        {
            options.ConnectTimeout = (int)DefaultConnectTimeout.TotalMilliseconds;
        }

        if (!Sets(configuration, "syncTimeout"))
        {
            options.SyncTimeout = (int)DefaultCommandTimeout.TotalMilliseconds;
        }

        if (!Sets(configuration, "asyncTimeout"))
        {
            options.AsyncTimeout = (int)DefaultCommandTimeout.TotalMilliseconds;
        }

        // While disconnected, fail a command at once instead of queueing it until its timeout.
        options.BacklogPolicy = BacklogPolicy.FailFast;
        // Timeouts are only noticed on a heartbeat (about a second by default): a hung server would cost a
        // request up to two command timeouts. A quicker heartbeat keeps it near one.
        options.HeartbeatInterval = TimeSpan.FromMilliseconds(250);
        // Try again soon after a server comes back, not after the default's growing waits.
        options.ReconnectRetryPolicy = new ExponentialRetry(deltaBackOffMilliseconds: 250, maxDeltaBackOffMilliseconds: 2000);

        try
        {
            return ConnectionMultiplexer.Connect(options);
        }
        catch (RedisConnectionException ex)
        {
            var endpoints = string.Join(",", options.EndPoints.Select(EndPointCollection.ToString));
            throw new CacheStoreException($"The Redis cache at {endpoints} cannot be reached: {ex.Message}", ex, CacheStoreFailure.Unavailable);
        }
    }

    // Whether the configuration string sets an option itself ("name=value", names case-insensitive).
    private static bool Sets(string configuration, string option) =>
        configuration.Split(',').Any(part =>
        {
            var trimmed = part.AsSpan().Trim();
            return trimmed.StartsWith(option, StringComparison.OrdinalIgnoreCase)
                && trimmed.Length > option.Length
                && trimmed[option.Length] == '=';
        });

    private static StoreLimits Validated(StoreLimits? limits)
    {
        limits ??= StoreLimits.None;
        if (limits.MaxBytes is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(limits), limits.MaxBytes, "MaxBytes must be at least 1.");
        }

        if (limits.MaxEntries is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(limits), limits.MaxEntries, "MaxEntries must be at least 1.");
        }

        return limits;
    }

    // Fails at once, without a round trip, while the server a key lives on is not connected.
    private void EnsureUsable(RedisKey key)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_db.IsConnected(key))
        {
            throw Unavailable();
        }
    }

    private CacheStoreException Unavailable() => new(
        $"The Redis cache at {_endpoints} (namespace {_keys.Namespace}) is unavailable: not connected to the server; it reconnects in the background.",
        null,
        CacheStoreFailure.Unavailable);

    private static bool IsRedisFailure(Exception ex) => ex is RedisException or RedisTimeoutException or RedisCommandException;

    private CacheStoreException Translate(Exception ex)
    {
        var message = ex.Message;
        var (failure, what) = ex switch
        {
            RedisConnectionException => (CacheStoreFailure.Unavailable, "cannot be reached"),
            RedisTimeoutException => (CacheStoreFailure.Unavailable, "did not answer in time"),
            RedisServerException when HasCode(message, "OOM", "READONLY", "NOREPLICAS") || message.Contains("OOM command not allowed", StringComparison.Ordinal)
                => (CacheStoreFailure.Unwritable, "refused the write"),
            RedisServerException when HasCode(message, "LOADING", "CLUSTERDOWN", "MASTERDOWN", "TRYAGAIN", "BUSY")
                => (CacheStoreFailure.Unavailable, "is not ready"),
            RedisServerException when HasCode(message, "WRONGTYPE")
                => (CacheStoreFailure.Corrupt, "holds keys of another kind in this namespace"),
            _ => (CacheStoreFailure.Other, "failed"),
        };
        return new CacheStoreException($"The Redis cache at {_endpoints} (namespace {_keys.Namespace}) {what}: {message}", ex, failure);
    }

    private static bool HasCode(string message, params string[] codes) =>
        codes.Any(code => message.StartsWith(code, StringComparison.Ordinal)
            && (message.Length == code.Length || message[code.Length] == ' '));

    private bool Admits(long size) => Limits.MaxBytes is not { } maxBytes || size <= maxBytes;

    private bool Within(long entries, long bytes) =>
        (Limits.MaxEntries is not { } maxEntries || entries <= maxEntries) && (Limits.MaxBytes is not { } maxBytes || bytes <= maxBytes);

    // Null: no TTL. Zero or less: the keep-until has passed.
    private long? KeepMilliseconds(DateTimeOffset? keepUntil) =>
        keepUntil is { } k ? (long)Math.Ceiling((k - _time.GetUtcNow()).TotalMilliseconds) : null;

    private RedisValue[] SetArguments(CacheRecord record, long size, long? keep)
    {
        var values = new List<RedisValue>(32)
        {
            RedisKeyLayout.Segment(record.Key),
            keep is { } ms ? ms : RedisValue.EmptyString,
            _keys.EntryPrefix(record.PrimaryKey),
            RedisScripts.Key, record.Key,
            RedisScripts.PrimaryKey, record.PrimaryKey,
            RedisScripts.Method, record.Method,
            RedisScripts.Uri, record.Uri,
            RedisScripts.Status, record.StatusCode,
            RedisScripts.CreatedAt, record.CreatedAt.UtcTicks,
            RedisScripts.Size, size,
            RedisScripts.Hits, record.HitCount,
            RedisScripts.Metadata, record.Metadata,
            RedisScripts.Body, record.Body,
        };
        if (record.ExpiresAt is { } expiresAt)
        {
            values.Add(RedisScripts.ExpiresAt);
            values.Add(expiresAt.UtcTicks);
        }

        if (record.KeepUntil is { } keepUntil)
        {
            values.Add(RedisScripts.KeepUntil);
            values.Add(keepUntil.UtcTicks);
        }

        if (record.LastAccessedAt is { } lastAccessedAt)
        {
            values.Add(RedisScripts.LastAccessedAt);
            values.Add(lastAccessedAt.UtcTicks);
        }

        return [.. values];
    }

    private async Task<List<CacheRecordInfo>> FindAsync(CacheQuery query, CancellationToken cancellationToken)
    {
        List<CacheRecordInfo> candidates;
        if (query.Key is not null)
        {
            var index = _keys.Index(query.Key);
            EnsureUsable(index);
            var primaryKey = await _db.StringGetAsync(index).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (primaryKey.IsNull)
            {
                return [];
            }

            var entry = _keys.Entry((string)primaryKey!, query.Key);
            EnsureUsable(entry);
            var values = await _db.HashGetAsync(entry, InfoFields).WaitAsync(cancellationToken).ConfigureAwait(false);
            candidates = values[0].IsNull ? [] : [ReadInfo(values)];
        }
        else if (query.PrimaryKey is not null)
        {
            var variants = _keys.Variants(query.PrimaryKey);
            EnsureUsable(variants);
            var result = await _db.ScriptEvaluateAsync(RedisScripts.GetVariants, [variants], [_keys.EntryPrefix(query.PrimaryKey), 0])
                .WaitAsync(cancellationToken).ConfigureAwait(false);
            candidates = ((RedisResult[]?)result ?? []).Select(row => ReadInfo((RedisValue[]?)row ?? [])).ToList();
        }
        else
        {
            candidates = await ScanAsync(cancellationToken).ConfigureAwait(false);
        }

        candidates.RemoveAll(info => !Matches(query, info));
        return candidates;
    }

    // Every entry of the namespace, without blobs: SCAN on each primary, then HMGET in pipelined pages.
    private async Task<List<CacheRecordInfo>> ScanAsync(CancellationToken cancellationToken)
    {
        var infos = new List<CacheRecordInfo>();
        var seen = new HashSet<RedisKey>();
        var page = new List<RedisKey>(ScanPageSize);
        foreach (var server in Primaries())
        {
            await foreach (var key in server.KeysAsync(_db.Database, _keys.EntryPattern, ScanPageSize).WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                // A Cluster moving slots may show a key on two nodes.
                if (seen.Add(key))
                {
                    page.Add(key);
                }

                if (page.Count == ScanPageSize)
                {
                    await ReadPageAsync(page, infos, cancellationToken).ConfigureAwait(false);
                    page.Clear();
                }
            }
        }

        await ReadPageAsync(page, infos, cancellationToken).ConfigureAwait(false);
        return infos;
    }

    private async Task ReadPageAsync(List<RedisKey> page, List<CacheRecordInfo> infos, CancellationToken cancellationToken)
    {
        if (page.Count == 0)
        {
            return;
        }

        var rows = await Task.WhenAll(page.Select(key => _db.HashGetAsync(key, InfoFields))).WaitAsync(cancellationToken).ConfigureAwait(false);
        foreach (var values in rows)
        {
            // Gone (expired, removed) since the SCAN saw it.
            if (!values[0].IsNull)
            {
                infos.Add(ReadInfo(values));
            }
        }
    }

    private List<IServer> Primaries()
    {
        var primaries = _connection.GetServers().Where(s => !s.IsReplica).ToList();
        if (primaries.Count == 0 || primaries.Any(s => !s.IsConnected))
        {
            throw Unavailable();
        }

        return primaries;
    }

    private async Task<int> RemoveKeysAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var primaryKeys = await Task.WhenAll(keys.Select(k => _db.StringGetAsync(_keys.Index(k)))).WaitAsync(cancellationToken).ConfigureAwait(false);
        var found = new List<(string Key, string PrimaryKey)>(keys.Count);
        var lost = new List<string>();
        for (var i = 0; i < keys.Count; i++)
        {
            if (primaryKeys[i].IsNull)
            {
                lost.Add(keys[i]);
            }
            else
            {
                found.Add((keys[i], (string)primaryKeys[i]!));
            }
        }

        // Keys without an index have expired: only their bookkeeping is left.
        var removed = await RemoveEntriesAsync(found, cancellationToken).ConfigureAwait(false);
        if (lost.Count > 0)
        {
            await ForgetAsync(lost).WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return removed;
    }

    // Removes entries (per primary key, one script each), their indexes and their bookkeeping; returns how
    // many entries were there to remove.
    private async Task<int> RemoveEntriesAsync(IReadOnlyList<(string Key, string PrimaryKey)> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return 0;
        }

        var removals = entries
            .GroupBy(e => e.PrimaryKey, StringComparer.Ordinal)
            .Select(g => RemoveFromVariantSetAsync(g.Key, g.Select(e => e.Key)))
            .ToList();
        var indexes = entries
            .Select(e => _db.ScriptEvaluateAsync(RedisScripts.DeleteIndexIfOwned, [_keys.Index(e.Key)], [e.PrimaryKey]))
            .ToList();
        var forget = ForgetAsync(entries.Select(e => e.Key).ToList());
        await Task.WhenAll(removals.Cast<Task>().Concat(indexes).Append(forget)).WaitAsync(cancellationToken).ConfigureAwait(false);

        var removed = 0;
        foreach (var removal in removals)
        {
            removed += await removal.ConfigureAwait(false);
        }

        return removed;
    }

    private async Task<int> RemoveFromVariantSetAsync(string primaryKey, IEnumerable<string> keys)
    {
        var arguments = new List<RedisValue> { _keys.EntryPrefix(primaryKey) };
        arguments.AddRange(keys.Select(k => (RedisValue)RedisKeyLayout.Segment(k)));
        var removed = await _db.ScriptEvaluateAsync(RedisScripts.Remove, [_keys.Variants(primaryKey)], [.. arguments]).ConfigureAwait(false);
        return (int)removed;
    }

    // Drops keys from the limits' bookkeeping, in chunks so no script call gets a huge argument list.
    private async Task ForgetAsync(IReadOnlyList<string> keys)
    {
        for (var start = 0; start < keys.Count; start += ArgumentChunk)
        {
            var chunk = keys.Skip(start).Take(ArgumentChunk).Select(k => (RedisValue)k).ToArray();
            await _db.ScriptEvaluateAsync(RedisScripts.LruForget, _lruKeys, chunk).ConfigureAwait(false);
        }
    }

    private static (long Entries, long Bytes) Totals(RedisResult result)
    {
        var values = (RedisValue[]?)result ?? [];
        return ((long)values[0], (long)values[1]);
    }

    // After a write: while the namespace is over a bound, evict least-recently-used entries (never the one
    // just written), then count them. Entries Redis expired by TTL are dropped from the bookkeeping first
    // and not counted as evictions. Other processes may write or evict meanwhile: each round reads the
    // totals and the candidates together, and a victim someone else removed first is not counted twice.
    private async Task EnforceLimitsAsync(long entries, long bytes, string justWritten, CancellationToken cancellationToken)
    {
        if (Within(entries, bytes))
        {
            return;
        }

        await ForgetExpiredAsync(cancellationToken).ConfigureAwait(false);
        long evicted = 0;
        for (var round = 0; round < MaxEvictionRounds; round++)
        {
            var snapshot = (RedisValue[]?)await _db.ScriptEvaluateAsync(RedisScripts.LruCandidates, _lruKeys, [EvictionBatch])
                .WaitAsync(cancellationToken).ConfigureAwait(false) ?? [];
            (entries, bytes) = ((long)snapshot[0], (long)snapshot[1]);
            var victims = new List<string>();
            for (var i = 2; i + 1 < snapshot.Length && !Within(entries, bytes); i += 2)
            {
                var key = (string)snapshot[i]!;
                if (string.Equals(key, justWritten, StringComparison.Ordinal))
                {
                    continue;
                }

                victims.Add(key);
                entries--;
                bytes -= (long)snapshot[i + 1];
            }

            if (victims.Count == 0)
            {
                break;
            }

            evicted += await RemoveKeysAsync(victims, cancellationToken).ConfigureAwait(false);
        }

        if (evicted > 0)
        {
            await _db.HashIncrementAsync(_keys.Counters, "evictions", evicted).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    // Entries whose keep-until has passed and whose index Redis has dropped leave the bookkeeping.
    private async Task ForgetExpiredAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var due = await _db.SortedSetRangeByScoreAsync(_keys.Keep, double.NegativeInfinity, now, take: ArgumentChunk)
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        if (due.Length == 0)
        {
            return;
        }

        var exists = await Task.WhenAll(due.Select(k => _db.KeyExistsAsync(_keys.Index((string)k!)))).WaitAsync(cancellationToken).ConfigureAwait(false);
        var gone = due.Where((_, i) => !exists[i]).Select(k => (string)k!).ToList();
        if (gone.Count > 0)
        {
            await ForgetAsync(gone).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool Matches(CacheQuery query, CacheRecordInfo info) =>
        (query.Key is null || string.Equals(info.Key, query.Key, StringComparison.Ordinal))
        && (query.PrimaryKey is null || string.Equals(info.PrimaryKey, query.PrimaryKey, StringComparison.Ordinal))
        && (query.ExpiredAsOf is null || (info.ExpiresAt is { } expiresAt && expiresAt <= query.ExpiredAsOf))
        && (query.KeepUntilAsOf is null || (info.KeepUntil is { } keepUntil && keepUntil <= query.KeepUntilAsOf))
        && (query.CreatedBefore is null || info.CreatedAt < query.CreatedBefore)
        && (query.CreatedAfter is null || info.CreatedAt > query.CreatedAfter);

    private CacheRecordInfo ReadInfo(RedisValue[] values)
    {
        try
        {
            return new CacheRecordInfo
            {
                Key = (string)values[0]!,
                PrimaryKey = (string)values[1]!,
                Method = (string)values[2]!,
                Uri = (string)values[3]!,
                StatusCode = (int)values[4],
                CreatedAt = Time(values[5]) ?? throw new FormatException("no creation time"),
                ExpiresAt = Time(values[6]),
                KeepUntil = Time(values[7]),
                Size = (long)values[8],
                HitCount = (long)values[9],
                LastAccessedAt = Time(values[10]),
            };
        }
        catch (Exception ex) when (ex is FormatException or InvalidCastException or IndexOutOfRangeException or OverflowException)
        {
            throw Damaged(ex);
        }
    }

    private CacheRecord ReadRecord(RedisValue[] values)
    {
        try
        {
            return new CacheRecord
            {
                Key = (string)values[0]!,
                PrimaryKey = (string)values[1]!,
                Method = (string)values[2]!,
                Uri = (string)values[3]!,
                StatusCode = (int)values[4],
                CreatedAt = Time(values[5]) ?? throw new FormatException("no creation time"),
                ExpiresAt = Time(values[6]),
                KeepUntil = Time(values[7]),
                Size = (long)values[8],
                HitCount = (long)values[9],
                LastAccessedAt = Time(values[10]),
                Metadata = (byte[]?)values[11] ?? throw new FormatException("no metadata"),
                Body = (byte[]?)values[12] ?? throw new FormatException("no body"),
            };
        }
        catch (Exception ex) when (ex is FormatException or InvalidCastException or IndexOutOfRangeException or OverflowException)
        {
            throw Damaged(ex);
        }
    }

    private CacheStoreException Damaged(Exception ex) => new(
        $"The Redis cache at {_endpoints} (namespace {_keys.Namespace}) holds an entry that is not an HTTP cache entry of this version: {ex.Message}",
        ex,
        CacheStoreFailure.Corrupt);

    private static DateTimeOffset? Time(RedisValue value) => value.IsNull ? null : new DateTimeOffset((long)value, TimeSpan.Zero);

    private static RedisValue Ticks(DateTimeOffset? time) => time is { } t ? t.UtcTicks : RedisValue.EmptyString;

    private static long Milliseconds(DateTimeOffset time) => time.ToUnixTimeMilliseconds();
}
