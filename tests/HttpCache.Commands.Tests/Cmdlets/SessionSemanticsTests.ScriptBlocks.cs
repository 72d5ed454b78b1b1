using System.Globalization;
using System.Management.Automation;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;
using Microsoft.AspNetCore.Http;

namespace HttpCache.Commands.Tests.Cmdlets;

public sealed partial class SessionSemanticsTests
{
    // ---- script blocks ---------------------------------------------------------------------------------

    [Fact]
    public async Task ExpireAfterScriptComputesALifetimePerResponse()
    {
        var (_, shortUrl) = Map(CounterWith("X-Kind", "short"));
        var (_, dailyUrl) = Map(CounterWith("X-Kind", "daily"));
        var (_, noneUrl) = Map(CounterWith("X-Kind", "none"));
        var (_, plainUrl) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok(Lifetime + """

            $secret = 5
            $s = New-HttpCacheSession -Backend Memory -ExpireAfter 600 -TimeZone UTC -ExpireAfterScript {
                param($response)
                switch ($response.Headers['X-Kind']) {
                    'short' { if ($response.StatusCode -eq 200 -and $response.Uri -like 'http://127.0.0.1:*') { 30 } }
                    'daily' { 'EndOfDay' }
                    'none'  { 'DoNotCache' }
                    default { $secret }   # the caller's variables are not visible: $null, no opinion
                }
            }
            lifetime (Invoke-CachedWebRequest -Uri $short -Session $s)
            (Invoke-CachedWebRequest -Uri $daily -Session $s).ExpiresAt.ToUniversalTime().TimeOfDay.TotalSeconds
            (Invoke-CachedWebRequest -Uri $none -Session $s).StoreReason
            lifetime (Invoke-CachedWebRequest -Uri $plain -Session $s)
            $s.ScriptErrors
            $s.ExpireAfterScript -is [scriptblock]
            """, ("short", shortUrl), ("daily", dailyUrl), ("none", noneUrl), ("plain", plainUrl));

        Assert.Equal(["30", "0", "not-storable-do-not-cache", "600", "0", "True"], result.BaseOutput.Select(o => Convert.ToString(o, CultureInfo.InvariantCulture)));
    }

    [Theory]
    [InlineData("{ throw 'boom' }", "boom")]
    [InlineData("{ 'later' }", "'later' is not an expiration")]
    [InlineData("{ 60; 120 }", "returned 2 values")]
    [InlineData("{ Get-Command -Name 'no-such-command-for-httpcache'; 60 }", "wrote an error")]
    public async Task AFailingExpireAfterScriptMeansNoOpinionAndIsRecorded(string script, string message)
    {
        var (path, url) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok(Lifetime + $$"""

            $s = New-HttpCacheSession -Backend Memory -ExpireAfter 300 -ExpireAfterScript {{script}}
            $r = Invoke-CachedWebRequest -Uri $u -Session $s
            "$($r.StatusCode) $($r.StoreReason)"
            lifetime $r
            (Invoke-CachedWebRequest -Uri $u -Session $s).FromCache
            $s.ScriptErrors
            $s.LastScriptError.FullyQualifiedErrorId
            $s.LastScriptError.Exception.Message
            $s.LastScriptError.TargetObject.StatusCode
            """, ("u", url));

        Assert.Equal("200 stored", result.BaseOutput[0]);
        Assert.Equal(300, Convert.ToInt32(result.BaseOutput[1], CultureInfo.InvariantCulture));
        Assert.Equal(true, result.BaseOutput[2]);
        Assert.Equal(1L, Convert.ToInt64(result.BaseOutput[3], CultureInfo.InvariantCulture));
        Assert.Equal("ExpireAfterScriptFailed", result.BaseOutput[4]);
        Assert.Contains(message, (string)result.BaseOutput[5], StringComparison.Ordinal);
        Assert.Equal(200, result.BaseOutput[6]);
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task StorePredicateDecidesPerResponse()
    {
        var (yesPath, yesUrl) = Map(CounterWith("X-Store", "yes"));
        var (noPath, noUrl) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -StorePredicate { $Response.Headers['X-Store'] -eq 'yes' }
            1..2 | ForEach-Object { Invoke-CachedWebRequest -Uri $yes -Session $s } | ForEach-Object { "$($_.FromCache) $($_.StoreReason)" }
            1..2 | ForEach-Object { Invoke-CachedWebRequest -Uri $no -Session $s } | ForEach-Object { "$($_.FromCache) $($_.StoreReason)" }
            $s.ScriptErrors
            """, ("yes", yesUrl), ("no", noUrl));

        Assert.Equal(["False stored", "True ", "False not-storable-predicate", "False not-storable-predicate", "0"], result.BaseOutput.Select(o => o.ToString()));
        Assert.Equal(1, origin.RequestCount(yesPath));
        Assert.Equal(2, origin.RequestCount(noPath));
    }

    [Theory]
    [InlineData("{ throw 'no way' }", "no way")]
    [InlineData("{ 'yes' }", "'yes' (String)")]
    [InlineData("{ }", "0 values")]
    public async Task AFailingStorePredicateMeansDoNotStoreAndIsRecorded(string script, string message)
    {
        var (path, url) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok($$"""
            $s = New-HttpCacheSession -Backend Memory -StorePredicate {{script}}
            1..2 | ForEach-Object { Invoke-CachedWebRequest -Uri $u -Session $s } | ForEach-Object { "$($_.StatusCode) $($_.FromCache) $($_.StoreReason)" }
            $s.ScriptErrors
            $s.LastScriptError.FullyQualifiedErrorId
            $s.LastScriptError.Exception.Message
            """, ("u", url));

        Assert.Equal(["200 False not-storable-predicate", "200 False not-storable-predicate", "2", "StorePredicateFailed"], result.BaseOutput.Take(4).Select(o => o.ToString()));
        Assert.Contains(message, (string)result.BaseOutput[4], StringComparison.Ordinal);
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task ScriptBlocksRunWhileTheCallersRunspaceIsBusyAndAfterItIsGone()
    {
        var (path, url) = Map();
        PSObject session;
        using (var creator = PS.Open())
        {
            session = (await creator.Ok("New-HttpCacheSession -Backend Memory -ExpireAfterScript { 45 } -StorePredicate { $true }")).Output.Single();
        }

        // The runspace that made the session is disposed; another one uses it, from a runspace pool too.
        using var ps = PS.Open();
        var result = await ps.Ok(Lifetime + """

            lifetime (Invoke-CachedWebRequest -Uri $u -Session $s)
            $iss = [initialsessionstate]::CreateDefault2()
            $iss.ImportPSModule($manifest)
            $pool = [runspacefactory]::CreateRunspacePool(1, 3, $iss, $Host)
            $pool.Open()
            $jobs = 1..3 | ForEach-Object {
                $p = [powershell]::Create().AddScript({ param($s, $u) (Invoke-CachedWebRequest -Uri "$u`?n=$([guid]::NewGuid())" -Session $s).ExpiresAt -ne $null }).AddArgument($s).AddArgument($u)
                $p.RunspacePool = $pool
                [pscustomobject]@{ PowerShell = $p; Handle = $p.BeginInvoke() }
            }
            $jobs | ForEach-Object { $_.PowerShell.EndInvoke($_.Handle); $_.PowerShell.Dispose() }
            $pool.Dispose()
            $s.ScriptErrors
            """, ("u", url), ("s", session), ("manifest", RepoPaths.ModuleManifest));

        Assert.Equal(["45", "True", "True", "True", "0"], result.BaseOutput.Select(o => Convert.ToString(o, CultureInfo.InvariantCulture)));
        Assert.Equal(4, origin.RequestCount(path));
        ((IDisposable)session.BaseObject).Dispose();
    }

    [Fact]
    public async Task AProcessWhoseSessionUsedScriptBlocksExitsWithoutDisposingIt()
    {
        // The session's runspace must not hold a foreground thread: a script that never disposes its session
        // (most don't) would otherwise leave the process running after its last line.
        var (_, url) = Map();
        using var temp = new TempDirectory();
        var run = await PwshProcess.RunCommandAsync(
            $$"""
            Import-Module $env:HTTPCACHE_MODULE_MANIFEST
            $s = New-HttpCacheSession -Backend Memory -ExpireAfterScript { 30 } -StorePredicate { $true }
            $r = Invoke-CachedWebRequest -Uri '{{url}}' -Session $s
            "RESULT=$($r.StoreReason) $($s.ScriptErrors)"
            """,
            timeout: TimeSpan.FromSeconds(45),
            environment: new Dictionary<string, string?> { ["XDG_CACHE_HOME"] = temp.File("xdg") });

        run.AssertSuccess();
        Assert.Equal("stored 0", run.Value("RESULT"));
    }
}
