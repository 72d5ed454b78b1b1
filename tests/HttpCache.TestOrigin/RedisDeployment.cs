using System.Diagnostics;
using System.Globalization;

namespace HttpCache.Testing;

/// <summary>
/// Where a test run's Redis is: the address in an environment variable (.ci/run starts the servers with
/// .ci/redis.sh and exports it), else servers started here with the installed redis-server on free loopback
/// ports and stopped on disposal. Under CI=true a missing variable is an error: the Redis tests fail, never skip.
/// </summary>
public sealed class RedisDeployment : IAsyncDisposable
{
    private readonly List<RedisServerProcess> _servers;
    private readonly string? _folder;

    private RedisDeployment(string configuration, List<RedisServerProcess> servers, string? folder)
    {
        Configuration = configuration;
        _servers = servers;
        _folder = folder;
    }

    /// <summary>The servers' endpoints as a StackExchange.Redis configuration string.</summary>
    public string Configuration { get; }

    /// <summary>Whether the servers were started here (rather than read from the environment).</summary>
    public bool StartedOwnServers => _servers.Count > 0;

    /// <summary>The servers <paramref name="variable"/> names, else one standalone server or a three-primary Cluster started here.</summary>
    public static async Task<RedisDeployment> FindOrStartAsync(string variable, bool cluster)
    {
        var configured = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return new RedisDeployment(configured.Trim(), [], null);
        }

        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException(
                $"{variable} is not set and CI=true: the Redis tests need a server. .ci/run starts them (`bash .ci/redis.sh start` prints the exports).");
        }

        var folder = Path.Combine(Path.GetTempPath(), "HttpCache.Tests", "redis-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var servers = new List<RedisServerProcess>();
        var deployment = new RedisDeployment(string.Empty, servers, folder);
        try
        {
            var configuration = cluster ? await StartClusterAsync(folder, servers) : await StartStandaloneAsync(folder, servers);
            return new RedisDeployment(configuration, servers, folder);
        }
        catch
        {
            await deployment.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        if (_folder is not null)
        {
            RedisServerProcess.DeleteFolder(_folder);
        }
    }

    private static async Task<string> StartStandaloneAsync(string folder, List<RedisServerProcess> servers)
    {
        var server = await RedisServerProcess.StartAsync(RedisServerProcess.FreePort(), folder);
        servers.Add(server);
        return server.Endpoint;
    }

    private static async Task<string> StartClusterAsync(string folder, List<RedisServerProcess> servers)
    {
        for (var i = 0; i < 3; i++)
        {
            var port = RedisServerProcess.FreePort();
            var busPort = RedisServerProcess.FreePort();
            servers.Add(await RedisServerProcess.StartAsync(
                port,
                folder,
                "--cluster-enabled", "yes",
                "--cluster-config-file", Path.Combine(folder, $"nodes-{port.ToString(CultureInfo.InvariantCulture)}.conf"),
                "--cluster-port", busPort.ToString(CultureInfo.InvariantCulture),
                "--cluster-node-timeout", "5000"));
        }

        var (exitCode, output) = await RedisServerProcess.RunCliAsync(
            ["--cluster", "create", .. servers.Select(s => s.Endpoint), "--cluster-replicas", "0", "--cluster-yes"],
            TimeSpan.FromSeconds(60));
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli --cluster create failed ({exitCode}):\n{output}");
        }

        var deadline = Stopwatch.StartNew();
        foreach (var server in servers)
        {
            while (true)
            {
                await using (var connection = await RespConnection.OpenAsync("127.0.0.1", server.Port))
                {
                    if (((string?)await connection.CommandAsync("CLUSTER", "INFO"))?.Contains("cluster_state:ok", StringComparison.Ordinal) == true)
                    {
                        break;
                    }
                }

                if (deadline.Elapsed > TimeSpan.FromSeconds(60))
                {
                    throw new InvalidOperationException($"The cluster on {string.Join(",", servers.Select(s => s.Endpoint))} did not reach cluster_state:ok.");
                }

                await Task.Delay(100);
            }
        }

        return string.Join(",", servers.Select(s => s.Endpoint));
    }
}
