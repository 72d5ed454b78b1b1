using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;

using HttpCache.Testing;

namespace HttpCache.Engine.Tests;

/// <summary>
/// Where the Redis tests find their servers: the address in an environment variable (CI starts the servers
/// with .ci/redis.sh), else servers this fixture starts itself with the installed redis-server on free
/// loopback ports and stops when the test run ends. Under CI=true a missing variable fails the tests.
/// </summary>
public abstract class RedisFixtureBase : IAsyncLifetime
{
    private RedisDeployment? _deployment;
    private ConnectionMultiplexer? _connection;

    /// <summary>The environment variable holding the address.</summary>
    protected abstract string Variable { get; }

    /// <summary>A three-primary Cluster rather than one standalone server.</summary>
    protected abstract bool Cluster { get; }

    /// <summary>The StackExchange.Redis configuration string of the servers (endpoints only).</summary>
    public string Configuration { get; private set; } = "";

    /// <summary>A connection shared by the tests of the collection; each test uses its own namespace.</summary>
    public IConnectionMultiplexer Connection => _connection ?? throw new InvalidOperationException("The fixture is not initialized.");

    /// <summary>Whether this fixture started the servers (rather than reading them from the environment).</summary>
    public bool StartedOwnServers => _deployment?.StartedOwnServers == true;

    public async Task InitializeAsync()
    {
        _deployment = await RedisDeployment.FindOrStartAsync(Variable, Cluster);
        Configuration = _deployment.Configuration;

        var options = ConfigurationOptions.Parse(Configuration);
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 5000;
        options.SyncTimeout = options.AsyncTimeout = 10_000;
        _connection = await ConnectionMultiplexer.ConnectAsync(options);
        var deadline = Stopwatch.StartNew();
        while (!_connection.GetServers().Any(s => s.IsConnected && !s.IsReplica) && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }

        if (!_connection.GetServers().Any(s => s.IsConnected && !s.IsReplica))
        {
            throw new InvalidOperationException($"No Redis server answers at {Configuration} (from {(StartedOwnServers ? "the servers this fixture started" : Variable)}).");
        }
    }

    public async Task DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        if (_deployment is not null)
        {
            await _deployment.DisposeAsync();
        }
    }

    /// <summary>Deletes every key of a namespace, on every primary.</summary>
    public async Task DeleteNamespaceAsync(string @namespace)
    {
        var db = Connection.GetDatabase();
        foreach (var server in Connection.GetServers().Where(s => !s.IsReplica && s.IsConnected))
        {
            var keys = new List<RedisKey>();
            await foreach (var key in server.KeysAsync(db.Database, @namespace + ":*", 1000))
            {
                keys.Add(key);
            }

            // One key per command: in a Cluster they live in many slots.
            await Task.WhenAll(keys.Select(k => db.KeyDeleteAsync(k)));
        }
    }

    /// <summary>Every key of a namespace, on every primary.</summary>
    public async Task<List<string>> KeysAsync(string @namespace)
    {
        var db = Connection.GetDatabase();
        var all = new List<string>();
        foreach (var server in Connection.GetServers().Where(s => !s.IsReplica && s.IsConnected))
        {
            await foreach (var key in server.KeysAsync(db.Database, @namespace + ":*", 1000))
            {
                all.Add(key!);
            }
        }

        return all;
    }
}

/// <summary>One standalone server: HTTPCACHE_REDIS, e.g. 127.0.0.1:6390.</summary>
public sealed class RedisFixture : RedisFixtureBase
{
    protected override string Variable => "HTTPCACHE_REDIS";

    protected override bool Cluster => false;
}

/// <summary>A three-primary Cluster: HTTPCACHE_REDIS_CLUSTER, e.g. 127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002.</summary>
public sealed class RedisClusterFixture : RedisFixtureBase
{
    protected override string Variable => "HTTPCACHE_REDIS_CLUSTER";

    protected override bool Cluster => true;
}

[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisFixture>
{
    public const string Name = "Redis";
}

[CollectionDefinition(Name)]
public sealed class RedisClusterCollection : ICollectionFixture<RedisClusterFixture>
{
    public const string Name = "Redis Cluster";
}
