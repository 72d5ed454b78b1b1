using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Infrastructure;

/// <summary>
/// Where the cmdlet tests find Redis, by the engine tests' rules: the address in an environment variable
/// (HTTPCACHE_REDIS, HTTPCACHE_REDIS_CLUSTER; .ci/run starts the servers and exports them), else servers this
/// fixture starts itself with the installed redis-server on free loopback ports and stops at the end. Under
/// CI=true a missing variable fails the tests. This project does not reference StackExchange.Redis (it tests the
/// staged module), so the fixture talks RESP itself (<see cref="RespConnection"/>).
/// </summary>
public abstract class RedisServersFixture : IAsyncLifetime
{
    private RedisDeployment? _deployment;

    /// <summary>The environment variable holding the address.</summary>
    protected abstract string Variable { get; }

    /// <summary>A three-primary Cluster rather than one standalone server.</summary>
    protected abstract bool Cluster { get; }

    /// <summary>The StackExchange.Redis configuration string of the servers, as New-HttpCacheSession -RedisConfiguration takes it.</summary>
    public string Configuration { get; private set; } = string.Empty;

    /// <summary>Whether this fixture started the servers (rather than reading them from the environment).</summary>
    public bool StartedOwnServers => _deployment?.StartedOwnServers == true;

    public async Task InitializeAsync()
    {
        _deployment = await RedisDeployment.FindOrStartAsync(Variable, Cluster);
        Configuration = _deployment.Configuration;
        var primaries = await PrimariesAsync();
        if (primaries.Count == 0)
        {
            throw new InvalidOperationException($"No Redis primary answers at {Configuration} (from {(StartedOwnServers ? "the servers this fixture started" : Variable)}).");
        }
    }

    public async Task DisposeAsync()
    {
        if (_deployment is not null)
        {
            await _deployment.DisposeAsync();
        }
    }

    /// <summary>The primaries to walk: the configured endpoints, or a Cluster's primaries as it reports them.</summary>
    protected virtual Task<List<DnsEndPoint>> PrimariesAsync() => Task.FromResult(ConfiguredEndpoints(Configuration));

    /// <summary>Every key of a namespace, on every primary.</summary>
    public Task<List<string>> KeysAsync(string @namespace) => KeysMatchingAsync(@namespace + ":*");

    /// <summary>Every key matching a pattern, on every primary.</summary>
    public async Task<List<string>> KeysMatchingAsync(string pattern)
    {
        var keys = new List<string>();
        foreach (var primary in await PrimariesAsync())
        {
            await using var connection = await RespConnection.OpenAsync(primary.Host, primary.Port);
            keys.AddRange(await connection.KeysAsync(pattern));
        }

        return keys;
    }

    /// <summary>Runs one command on the first primary and returns its reply: a string, a long, null, or an array of those.</summary>
    public async Task<object?> CommandAsync(params string[] arguments)
    {
        var primary = (await PrimariesAsync()).First();
        await using var connection = await RespConnection.OpenAsync(primary.Host, primary.Port);
        return await connection.CommandAsync(arguments);
    }

    /// <summary>Deletes every key of a namespace, on every primary (one DEL per key: a Cluster spreads them over slots).</summary>
    public async Task DeleteNamespaceAsync(string @namespace)
    {
        foreach (var primary in await PrimariesAsync())
        {
            await using var connection = await RespConnection.OpenAsync(primary.Host, primary.Port);
            foreach (var key in await connection.KeysAsync(@namespace + ":*"))
            {
                await connection.CommandAsync("DEL", key);
            }
        }
    }

    /// <summary>The host:port parts of a configuration string (the parts without '=').</summary>
    public static List<DnsEndPoint> ConfiguredEndpoints(string configuration) =>
        configuration.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(part => !part.Contains('=', StringComparison.Ordinal))
            .Select(ParseEndpoint)
            .ToList();

    internal static DnsEndPoint ParseEndpoint(string endpoint)
    {
        // A Cluster node that was never told its address reports ":port".
        var colon = endpoint.LastIndexOf(':');
        var host = (colon < 0 ? endpoint : endpoint[..colon]).Trim('[', ']');
        return new DnsEndPoint(
            host.Length == 0 ? "127.0.0.1" : host,
            colon < 0 ? 6379 : int.Parse(endpoint[(colon + 1)..], CultureInfo.InvariantCulture));
    }
}

/// <summary>One standalone server: HTTPCACHE_REDIS, e.g. 127.0.0.1:6390.</summary>
public sealed class RedisStandaloneFixture : RedisServersFixture
{
    protected override string Variable => "HTTPCACHE_REDIS";

    protected override bool Cluster => false;
}

/// <summary>A three-primary Cluster: HTTPCACHE_REDIS_CLUSTER, e.g. 127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002.</summary>
public sealed class RedisClusterServersFixture : RedisServersFixture
{
    protected override string Variable => "HTTPCACHE_REDIS_CLUSTER";

    protected override bool Cluster => true;

    /// <summary>The primaries the Cluster reports (CLUSTER NODES on the first configured node that answers).</summary>
    protected override async Task<List<DnsEndPoint>> PrimariesAsync()
    {
        foreach (var endpoint in ConfiguredEndpoints(Configuration))
        {
            try
            {
                await using var connection = await RespConnection.OpenAsync(endpoint.Host, endpoint.Port);
                var nodes = (string?)await connection.CommandAsync("CLUSTER", "NODES") ?? string.Empty;
                // <id> <ip:port@cport[,hostname]> <flags> …: primaries flagged "master", not failed.
                return nodes.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(line => line.Split(' '))
                    .Where(f => f.Length > 2 && f[2].Split(',').Contains("master") && !f[2].Contains("fail", StringComparison.Ordinal))
                    .Select(f => f[1].Split('@')[0])
                    .Select(ParseEndpoint)
                    .ToList();
            }
            catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
            {
                // Try the next configured node.
            }
        }

        return [];
    }
}

[CollectionDefinition(Name)]
public sealed class RedisStandaloneCollection : ICollectionFixture<RedisStandaloneFixture>
{
    public const string Name = "Commands Redis standalone (shared cache)";
}

[CollectionDefinition(Name)]
public sealed class RedisClusterServersCollection : ICollectionFixture<RedisClusterServersFixture>
{
    public const string Name = "Commands Redis Cluster (shared cache)";
}
