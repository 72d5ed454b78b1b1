using System.Management.Automation;
using HttpCache.Commands.Tests.Infrastructure;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>Tab completion as a user gets it: TabExpansion2 on a command line, in a runspace that imported the module.</summary>
public sealed class CompletionTests(OriginFixture fixture) : EntryTestBase(fixture)
{
    private static async Task<string[]> Complete(PowerShellSession ps, string line)
    {
        var result = await ps.Ok("(TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | ForEach-Object CompletionText", ("line", line));
        return result.BaseOutput.Select(o => o.ToString()!).ToArray();
    }

    [Theory]
    [InlineData("Get-HttpCacheEntry -Session $s -Uri ")]
    [InlineData("Remove-HttpCacheEntry -Session $s -Uri ")]
    [InlineData("Invoke-CachedWebRequest -Session $s -Uri ")]
    [InlineData("Invoke-CachedRestMethod -Session $s -Uri ")]
    public async Task UriCompletesFromTheSessionsCachedEntries(string line)
    {
        var urls = Urls(3, "complete");
        using var ps = await WithStored(urls);

        var offered = await Complete(ps, line);

        Assert.Equal(urls.Order(StringComparer.OrdinalIgnoreCase).Select(u => $"'{u}'"), offered);
    }

    [Fact]
    public async Task WhatWasTypedIsAPrefixOrAPattern()
    {
        var alpha = Urls(2, "alpha");
        var beta = Urls(1, "beta");
        using var ps = await WithStored([.. alpha, .. beta]);
        var prefix = beta[0][..(beta[0].IndexOf("beta", StringComparison.Ordinal) + 2)];

        Assert.Equal([$"'{beta[0]}'"], await Complete(ps, $"Get-HttpCacheEntry -Session $s -Uri '{prefix}"));
        Assert.Equal(alpha.Order(StringComparer.OrdinalIgnoreCase).Select(u => $"'{u}'"), await Complete(ps, "Get-HttpCacheEntry -Session $s -Uri *ALPHA*"));
        Assert.Empty(await Complete(ps, "Get-HttpCacheEntry -Session $s -Uri 'https://nowhere.example/"));
    }

    [Fact]
    public async Task WithoutASessionAndNoDefaultSessionYetNothingIsOfferedAndNoStoreIsOpened()
    {
        using var temp = new TempDirectory();
        // A fresh process: its default session was never created.
        var run = (await PwshProcess.RunCommandAsync(
            """
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            $line = 'Get-HttpCacheEntry -Uri '
            "COUNT=$(@((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches | Where-Object ResultType -eq 'ParameterValue').Count)"
            """,
            environment: new Dictionary<string, string?> { ["XDG_CACHE_HOME"] = temp.File("xdg") })).AssertSuccess();

        Assert.Equal("0", run.Value("COUNT"));
        Assert.False(Directory.Exists(Path.Combine(temp.File("xdg"), "HttpCache")), "completion opened the default store");
    }

    [Fact]
    public async Task MethodCompletesWithHttpMethods()
    {
        using var ps = PS.Open();

        Assert.Equal(["POST", "PUT", "PATCH"], await Complete(ps, "Get-HttpCacheEntry -Method P"));
        Assert.Contains("DELETE", await Complete(ps, "Invoke-CachedRestMethod -Uri http://x/ -Method D"));
    }

    [Fact]
    public async Task ExpireAfterCompletesWithTheSpecialValues()
    {
        using var ps = PS.Open();

        Assert.Equal(["NeverExpire"], await Complete(ps, "Invoke-CachedRestMethod -Uri http://x/ -ExpireAfter Nev"));
    }

    [Fact]
    public async Task BackendCompletesWithTheBackends()
    {
        using var ps = PS.Open();
        var offered = await Complete(ps, "New-HttpCacheSession -Backend ");

        Assert.Contains("Sqlite", offered);
        Assert.Contains("Memory", offered);
    }

    [Fact]
    public async Task GroupByCompletesWithHost()
    {
        using var ps = PS.Open();

        Assert.Equal(["Host"], await Complete(ps, "Get-HttpCacheStats -GroupBy "));
    }
}
