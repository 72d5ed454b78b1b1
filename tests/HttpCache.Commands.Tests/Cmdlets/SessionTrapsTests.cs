using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>Issue 12's small traps at New-HttpCacheSession: names, Redis addresses, methods, past expirations.</summary>
public sealed class SessionTrapsTests
{
    [Fact]
    public async Task UnnamedSessionsGetUniqueNamesNeverTheDefaultSessions()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $a = New-HttpCacheSession -Backend Memory
            $b = New-HttpCacheSession -Backend Memory
            $named = New-HttpCacheSession -Backend Memory -Name api
            $a.Name; $b.Name; $named.Name
            """);

        var names = result.BaseOutput.Select(o => o.ToString()!).ToArray();
        Assert.All(names[..2], n => Assert.Matches("^session-[0-9]+$", n));
        Assert.NotEqual(names[0], names[1]);
        Assert.Equal("api", names[2]);
    }
}

/// <summary>New-HttpCacheSession checks a Redis address once: a closed port warns, a live server does not.</summary>
[Collection(RedisStandaloneCollection.Name)]
public sealed class RedisAddressCheckTests(RedisStandaloneFixture redis)
{
    [Fact]
    public async Task AClosedLoopbackPortWarnsButStillGivesASession()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there any more: connections are refused at once
        using var ps = PS.Open();

        var result = await ps.Ok("$s = New-HttpCacheSession -RedisConfiguration \"127.0.0.1:$port\" -KeySecret ([System.Net.NetworkCredential]::new('', 'k').SecurePassword); $s.Backend; $s.Dispose()", ("port", port));

        Assert.Equal(["Redis"], result.BaseOutput);
        var warning = Assert.Single(result.Warnings);
        Assert.Contains($"127.0.0.1:{port}", warning, StringComparison.Ordinal);
        Assert.Contains("did not answer", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AReachableServerGivesNoWarning()
    {
        using var ps = PS.Open();

        var result = await ps.Ok("$s = New-HttpCacheSession -RedisConfiguration $c -Namespace traps-check -KeySecret ([System.Net.NetworkCredential]::new('', 'k').SecurePassword); $s.Backend; $s.Dispose()", ("c", redis.Configuration));

        Assert.Equal(["Redis"], result.BaseOutput);
        Assert.Empty(result.Warnings);
    }
}

/// <summary>-AllowedMethods takes HTTP tokens; unknown (extension) methods are accepted with a warning.</summary>
public sealed class AllowedMethodsValidationTests
{
    [Theory]
    [InlineData("GET HEAD")]
    [InlineData("GET,POST")]
    [InlineData("GET/1")]
    [InlineData("GÉT")]
    public async Task ATokenThatIsNotAMethodIsAnError(string method)
    {
        using var ps = PS.Open();

        var error = await ps.Fails("New-HttpCacheSession -Backend Memory -AllowedMethods GET, $m", ("m", method));

        Assert.Equal("InvalidMethod,HttpCache.Commands.NewHttpCacheSessionCommand", error.FullyQualifiedErrorId);
        Assert.Contains("token", error.Exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnExtensionMethodIsAcceptedWithAWarning()
    {
        using var ps = PS.Open();

        var result = await ps.Ok("(New-HttpCacheSession -Backend Memory -AllowedMethods get, FOO, PROPFIND).AllowedMethods | Sort-Object");

        Assert.Equal(["FOO", "GET", "PROPFIND"], result.BaseOutput);
        Assert.Equal(2, result.Warnings.Count);
        Assert.Contains("'FOO' is not a standard method", result.Warnings[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task StandardMethodsGiveNoWarning()
    {
        using var ps = PS.Open();

        var result = await ps.Ok("$null = New-HttpCacheSession -Backend Memory -AllowedMethods GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, CONNECT, PATCH");

        Assert.Empty(result.Warnings);
    }
}

/// <summary>A DateTime in the past for -ExpireAfter is an error that says so, wherever -ExpireAfter is taken.</summary>
public sealed class PastExpireAfterTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    [Theory]
    [InlineData("New-HttpCacheSession -Backend Memory -ExpireAfter ([datetime]'2001-01-01')", "NewHttpCacheSessionCommand")]
    [InlineData("Reset-HttpCacheExpiration -Session (New-HttpCacheSession -Backend Memory) -ExpireAfter ([datetimeoffset]::Now.AddMinutes(-1))", "ResetHttpCacheExpirationCommand")]
    public async Task APastInstantIsRefused(string script, string command)
    {
        using var ps = PS.Open();

        var error = await ps.Fails(script);

        Assert.Equal($"InvalidExpiration,HttpCache.Commands.{command}", error.FullyQualifiedErrorId);
        Assert.Contains("is in the past", error.Exception.Message, StringComparison.Ordinal);
        Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
    }

    [Fact]
    public async Task APastInstantOnARequestIsAnErrorAndNothingIsSent()
    {
        var path = fixture.Origin.NewPath("past");
        fixture.Origin.Map(path, HttpCache.Testing.OriginBehaviors.Counter());
        using var ps = PS.Open();

        var result = await ps.RunAsync(
            "Invoke-CachedWebRequest -Uri $u -Session (New-HttpCacheSession -Backend Memory) -ExpireAfter ([datetime]::Now.AddDays(-1))",
            ("u", fixture.Origin.Url(path).AbsoluteUri));

        var error = result.TerminatingError ?? Assert.Single(result.Errors);
        Assert.Equal("InvalidExpiration,HttpCache.Commands.InvokeCachedWebRequestCommand", error.FullyQualifiedErrorId);
        Assert.Equal(0, fixture.Origin.RequestCount(path));
    }

    [Fact]
    public async Task AFutureInstantIsAccepted()
    {
        using var ps = PS.Open();

        var result = await ps.Ok("(New-HttpCacheSession -Backend Memory -ExpireAfter ([datetime]::Now.AddDays(1))).ExpireAfter");

        Assert.Single(result.BaseOutput);
    }
}
