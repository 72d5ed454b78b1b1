using System.Runtime.CompilerServices;
using HttpCache.Engine.Http;
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
public sealed partial class RedisCacheStore : ICacheStore
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

    // A connection the store opens gets a second one, opened on the background writer's first batch, for that writer
    // alone: commands on one connection are answered in order, so a request's lookup sent behind a batch's pipelined
    // writes (up to MaxBytesInFlight of bodies) waited for all of them.
    private readonly ConfigurationOptions? _writerOptions;
    private readonly object _writerGate = new();
    private ConnectionMultiplexer? _writerConnection;

    /// <summary>The background writer's own connection, once opened (tests).</summary>
    internal IConnectionMultiplexer? WriterConnection => Volatile.Read(ref _writerDb) is null ? null : _writerConnection;
    private IDatabase? _writerDb;

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
        : this(new RedisKeyLayout(@namespace), Validated(limits), ConnectionOptions(configuration), timeProvider)
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
    private RedisCacheStore(RedisKeyLayout keys, StoreLimits limits, ConfigurationOptions options, TimeProvider? timeProvider)
        : this(keys, limits, Connect(options), owned: true, timeProvider)
    {
        _writerOptions = options;
    }

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

        ConnectionMultiplexer? writer;
        lock (_writerGate)
        {
            writer = _writerConnection;
        }

        if (writer is not null)
        {
            await writer.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static ConnectionMultiplexer Connect(ConfigurationOptions options)
    {
        try
        {
            return ConnectionMultiplexer.Connect(options.Clone());
        }
        catch (RedisConnectionException ex)
        {
            var endpoints = string.Join(",", options.EndPoints.Select(EndPointCollection.ToString));
            throw new CacheStoreException($"The Redis cache at {endpoints} cannot be reached: {ex.Message}", ex, CacheStoreFailure.Unavailable);
        }
    }

    // The options of a connection the store opens: the string's, with the store's defaults where it sets none.
    internal static ConfigurationOptions ConnectionOptions(string configuration)
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
        // The socket's reads and writes run on the thread pool, not on the library's shared dedicated threads. On Linux a
        // socket's completion already arrives on a thread-pool thread, which otherwise hands the reply on to a dedicated
        // one: a Redis hit made after a cmdlet's work is 2-11% faster this way (median 8%, interleaved in 17 processes;
        // docs/performance.md). The dedicated threads guard against a starved thread pool; a starved pool here delays a
        // reply up to the command timeout, and the request then goes to the origin.
        options.SocketManager = SocketManager.ThreadPool;
        return options;
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

    // The database a call goes to: the background writer's own connection for the writer's work, else the store's.
    private IDatabase Db => BackgroundWork.InBackground && _writerOptions is not null ? WriterDb() : _db;

    private IDatabase WriterDb()
    {
        if (Volatile.Read(ref _writerDb) is { } db)
        {
            // Back from an outage, the two connections reconnect each on its own schedule: until the writer's is back,
            // its batches go over the store's, so that writes the server can take are not lost meanwhile.
            return db.Multiplexer.IsConnected ? db : _db;
        }

        lock (_writerGate)
        {
            if (_writerDb is null && !_disposed)
            {
                try
                {
                    _writerConnection = Connect(_writerOptions!);
                    Volatile.Write(ref _writerDb, _writerConnection.GetDatabase());
                }
                catch (CacheStoreException)
                {
                    // Not reachable now (abortConnect=true): this batch goes over the store's connection, which then
                    // fails it as unavailable or writes it; the next batch tries again.
                    return _db;
                }
            }

            return _writerDb ?? _db;
        }
    }

    // Fails at once, without a round trip, while the server a key lives on is not connected.
    private void EnsureUsable(RedisKey key)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!Db.IsConnected(key))
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

    private static (long Entries, long Bytes) Totals(RedisResult result)
    {
        var values = (RedisValue[]?)result ?? [];
        return ((long)values[0], (long)values[1]);
    }

    private static DateTimeOffset? Time(RedisValue value) => value.IsNull ? null : new DateTimeOffset((long)value, TimeSpan.Zero);

    private static RedisValue Ticks(DateTimeOffset? time) => time is { } t ? t.UtcTicks : RedisValue.EmptyString;

    // The LRU order's score: milliseconds since the epoch with the sub-millisecond part kept, so entries used within
    // one millisecond (a batch of queued writes) still leave in the order they were used instead of by key name.
    // A double holds today's figures to about a quarter of a microsecond.
    private static double LruScore(DateTimeOffset time) =>
        (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / (double)TimeSpan.TicksPerMillisecond;
}
