using System.Globalization;
using System.Management.Automation;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;
using Microsoft.AspNetCore.Http;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// Issue 3's semantics through New-HttpCacheSession's parameters, in hosted runspaces importing the staged
/// module, against a Kestrel origin. Lifetimes are observed, never waited for: entries are made stale with
/// ExpireImmediately, max-age=0 or Reset-HttpCacheExpiration, and lifetimes are read as ExpiresAt - CreatedAt.
/// </summary>
public sealed class SessionSemanticsTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private const string Cmdlet = "HttpCache.Commands.NewHttpCacheSessionCommand";
    private readonly TestOrigin origin = fixture.Origin;

    /// <summary>A fresh path on the origin answering with <paramref name="behavior"/> (the counter by default).</summary>
    private (string Path, string Url) Map(RequestDelegate? behavior = null, string name = "p")
    {
        var path = origin.NewPath(name);
        origin.Map(path, behavior ?? OriginBehaviors.Counter());
        return (path, origin.Url(path).AbsoluteUri);
    }

    /// <summary>The first request answered by <paramref name="first"/>, every later one by <paramref name="then"/>.</summary>
    private static RequestDelegate FirstThen(RequestDelegate first, RequestDelegate then) =>
        context => TestOrigin.RequestNumber(context) == 1 ? first(context) : then(context);

    private static RequestDelegate CounterWith(string name, string value) =>
        OriginBehaviors.Counter(new Dictionary<string, string> { [name] = value });

    /// <summary>PowerShell that outputs one response's lifetime in seconds, or 'never'.</summary>
    private const string Lifetime = "function lifetime($r) { if ($null -eq $r.ExpiresAt) { 'never' } else { [int][math]::Round(($r.ExpiresAt - $r.CreatedAt).TotalSeconds) } }";

    // ---- per-URL patterns -------------------------------------------------------------------------------

    [Fact]
    public async Task UrlPatternsGlobPrefixLeadingWildcardRegexAndNoMatch()
    {
        var (apiPath, _) = Map(name: "api");
        origin.Map(apiPath + "/items/1", OriginBehaviors.Counter());
        var (subPath, subUrl) = Map(name: "sub");
        var (rePath, reUrl) = Map(name: "re");
        var (strPath, strUrl) = Map(name: "str");
        var (_, otherUrl) = Map(name: "other");
        using var ps = PS.Open(origin);
        var result = await ps.Ok(Lifetime + """

            $s = New-HttpCacheSession -Backend Memory -ExpireAfter 10 -UrlExpireAfter ([ordered]@{
                "127.0.0.1:*$api/" = 60                 # a glob is a prefix match on the URL without its scheme
                "*.0.0.1:*$sub" = '00:02:00'            # '*.' matches the labels before the host
                [regex]"$re`$" = 'NeverExpire'          # a regex is searched for in the whole URL
                "regex:^http://127\.0\.0\.1:\d+$str`$" = 'PT3M'
            })
            lifetime (Invoke-CachedWebRequest -Uri "${origin}$($api.TrimStart('/'))/items/1?q=1" -Session $s)
            lifetime (Invoke-CachedWebRequest -Uri $subUrl -Session $s)
            lifetime (Invoke-CachedWebRequest -Uri $reUrl -Session $s)
            lifetime (Invoke-CachedWebRequest -Uri $strUrl -Session $s)
            lifetime (Invoke-CachedWebRequest -Uri $otherUrl -Session $s)
            $s.UrlExpireAfter.Count
            """, ("api", apiPath), ("sub", subPath), ("re", rePath), ("str", strPath), ("subUrl", subUrl), ("reUrl", reUrl), ("strUrl", strUrl), ("otherUrl", otherUrl));

        Assert.Equal(["60", "120", "never", "180", "10", "4"], result.BaseOutput.Select(o => Convert.ToString(o, CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task UrlPatternsFirstMatchWinsInTheOrderGiven()
    {
        var (path, url) = Map(name: "first");
        using var ps = PS.Open(origin);
        var result = await ps.Ok(Lifetime + """

            $a = New-HttpCacheSession -Backend Memory -UrlExpireAfter ([ordered]@{ "127.0.0.1:*$p" = 30; "*$p" = 90 })
            $b = New-HttpCacheSession -Backend Memory -UrlExpireAfter ([ordered]@{ "*$p" = 90; "127.0.0.1:*$p" = 30 })
            lifetime (Invoke-CachedWebRequest -Uri $u -Session $a)
            lifetime (Invoke-CachedWebRequest -Uri $u -Session $b)
            """, ("p", path), ("u", url));

        Assert.Equal([30, 90], result.BaseOutput.Select(Convert.ToInt32));
    }

    [Fact]
    public async Task UrlPatternsAsADenyListAndAnAllowList()
    {
        var (denied, deniedUrl) = Map(name: "deny");
        var (allowed, allowedUrl) = Map(name: "allow");
        var (other, otherUrl) = Map(name: "rest");
        using var ps = PS.Open(origin);
        var result = await ps.Ok("""
            # Deny-list: everything cached but one URL prefix.
            $deny = New-HttpCacheSession -Backend Memory -UrlExpireAfter ([ordered]@{ "127.0.0.1:*$denied" = 'DoNotCache' })
            1..2 | ForEach-Object { Invoke-CachedWebRequest -Uri $deniedUrl -Session $deny } | ForEach-Object { "$($_.FromCache) $($_.StoreReason)" }
            # Allow-list: nothing cached but one URL prefix.
            $allow = New-HttpCacheSession -Backend Memory -ExpireAfter DoNotCache -UrlExpireAfter ([ordered]@{ "127.0.0.1:*$allowed" = 300 })
            1..2 | ForEach-Object { Invoke-CachedWebRequest -Uri $allowedUrl -Session $allow } | ForEach-Object { "$($_.FromCache) $($_.StoreReason)" }
            1..2 | ForEach-Object { Invoke-CachedWebRequest -Uri $otherUrl -Session $allow } | ForEach-Object { "$($_.FromCache) $($_.StoreReason)" }
            """, ("denied", denied), ("deniedUrl", deniedUrl), ("allowed", allowed), ("allowedUrl", allowedUrl), ("otherUrl", otherUrl));

        Assert.Equal(
            [
                "False not-storable-do-not-cache", "False not-storable-do-not-cache",
                "False stored", "True ",
                "False not-storable-do-not-cache", "False not-storable-do-not-cache",
            ],
            result.BaseOutput.Select(o => o.ToString()));
        Assert.Equal(2, origin.RequestCount(denied));
        Assert.Equal(1, origin.RequestCount(allowed));
        Assert.Equal(2, origin.RequestCount(other));
    }

    [Fact]
    public async Task APlainHashtableOfSeveralPatternsIsWarnedAbout()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("$null = New-HttpCacheSession -Backend Memory -UrlExpireAfter @{ 'a.example/' = 1; 'b.example/' = 2 }");

        Assert.Contains(result.Warnings, w => w.Contains("[ordered]", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("@{ 'regex:(' = 60 }", "InvalidUrlPattern")]
    [InlineData("@{ '  ' = 60 }", "InvalidUrlPattern")]
    [InlineData("@{ 42 = 60 }", "InvalidUrlPattern")]
    [InlineData("@{ 'example.com/' = 'later' }", "InvalidExpiration")]
    public async Task BadUrlPatternsAreClearErrors(string rules, string errorId)
    {
        using var ps = PS.Open();
        var error = await ps.Fails($"New-HttpCacheSession -Backend Memory -UrlExpireAfter {rules}");

        Assert.Equal($"{errorId},{Cmdlet}", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
    }

    [Fact]
    public async Task ARegexThatDoesNotParseFailsBeforeTheCmdletRuns()
    {
        using var ps = PS.Open();
        var error = await ps.Fails("New-HttpCacheSession -Backend Memory -UrlExpireAfter ([ordered]@{ [regex]'(' = 60 })");

        // PowerShell's own cast to [regex] refuses it, naming the pattern's problem.
        Assert.Contains("(", error.Exception.Message, StringComparison.Ordinal);
        Assert.Contains("regex", error.Exception.Message, StringComparison.OrdinalIgnoreCase);
    }

    // ---- calendar expiry -------------------------------------------------------------------------------

    [Theory]
    [InlineData("EndOfDay", "Asia/Tokyo")]
    [InlineData("EndOfWeek", "Europe/Paris")]
    [InlineData("EndOfDay", "America/New_York")]
    public async Task CalendarExpiryEndsAtTheNextLocalMidnightOfTheZone(string expireAt, string zoneId)
    {
        var (_, url) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -ExpireAt $at -TimeZone $tz
            $r = Invoke-CachedWebRequest -Uri $u -Session $s
            $s.ExpireAfter
            $s.TimeZone
            $r.CreatedAt.ToUniversalTime().ToString('o')
            $r.ExpiresAt.ToUniversalTime().ToString('o')
            """, ("at", expireAt), ("tz", zoneId), ("u", url));

        var zone = TimeZoneInfo.FindSystemTimeZoneById(zoneId);
        var created = DateTimeOffset.Parse((string)result.BaseOutput[2], CultureInfo.InvariantCulture);
        var localDate = TimeZoneInfo.ConvertTime(created, zone).Date;
        var days = expireAt == "EndOfDay" ? 1 : localDate.DayOfWeek == DayOfWeek.Sunday ? 1 : 8 - (int)localDate.DayOfWeek;
        var midnight = DateTime.SpecifyKind(localDate.AddDays(days), DateTimeKind.Unspecified);
        var expected = new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(midnight, zone), TimeSpan.Zero);

        Assert.Equal($"{expireAt} ({zone.Id})", result.BaseOutput[0]);
        Assert.Equal(zone.Id, result.BaseOutput[1]);
        Assert.Equal(expected, DateTimeOffset.Parse((string)result.BaseOutput[3], CultureInfo.InvariantCulture));
        Assert.Equal(TimeSpan.Zero, TimeZoneInfo.ConvertTime(expected, zone).TimeOfDay);
    }

    [Fact]
    public async Task TimeZoneDefaultsToLocalAndAcceptsWindowsIds()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            (New-HttpCacheSession -Backend Memory -ExpireAt EndOfDay).TimeZone
            (New-HttpCacheSession -Backend Memory -ExpireAt EndOfDay -TimeZone 'Tokyo Standard Time').ExpireAfter
            """);

        Assert.Equal(TimeZoneInfo.Local.Id, result.BaseOutput[0]);
        Assert.Matches(@"^EndOfDay \((Tokyo Standard Time|Asia/Tokyo)\)$", (string)result.BaseOutput[1]);
    }

    [Fact]
    public async Task CalendarNamesWorkInUrlPatternsToo()
    {
        var (path, url) = Map(name: "daily");
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -TimeZone 'UTC' -UrlExpireAfter ([ordered]@{ "127.0.0.1:*$p" = 'EndOfDay' })
            $r = Invoke-CachedWebRequest -Uri $u -Session $s
            $r.ExpiresAt.ToUniversalTime().ToString('o')
            """, ("p", path), ("u", url));

        var expires = DateTimeOffset.Parse((string)result.BaseOutput[0], CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.Zero, expires.UtcDateTime.TimeOfDay);
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.Zero, TimeSpan.FromDays(1));
    }

    [Theory]
    [InlineData("-TimeZone 'Mars/Olympus_Mons' -ExpireAt EndOfDay", "InvalidTimeZone")]
    [InlineData("-ExpireAfter 60 -ExpireAt EndOfDay", "InvalidSessionOption")]
    public async Task BadCalendarOptionsAreClearErrors(string parameters, string errorId)
    {
        using var ps = PS.Open();
        var error = await ps.Fails($"New-HttpCacheSession -Backend Memory {parameters}");

        Assert.Equal($"{errorId},{Cmdlet}", error.FullyQualifiedErrorId);
    }

    [Fact]
    public async Task TimeZoneTabCompletes()
    {
        var some = TimeZoneInfo.GetSystemTimeZones().First(z => z.Id.Contains('/', StringComparison.Ordinal) || z.Id.Contains(' ', StringComparison.Ordinal));
        var prefix = some.Id[..Math.Min(5, some.Id.Length)];
        using var ps = PS.Open();
        var result = await ps.Ok("(TabExpansion2 -inputScript $i -cursorColumn $i.Length).CompletionMatches | ForEach-Object { $_.ListItemText }", ("i", "New-HttpCacheSession -TimeZone " + prefix));

        Assert.Contains(some.Id, result.BaseOutput.Select(o => o.ToString()));
        Assert.All(result.BaseOutput, o => Assert.Contains(prefix, o.ToString()!, StringComparison.OrdinalIgnoreCase));
    }

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

    // ---- per-status lifetimes, two clocks, Reset-HttpCacheExpiration -------------------------------------

    [Fact]
    public async Task StatusExpireAfterCachesA404ForSixtySeconds()
    {
        var (path, url) = Map(OriginBehaviors.Status(404));
        using var ps = PS.Open();
        var result = await ps.Ok(Lifetime + """

            $s = New-HttpCacheSession -Backend Memory -StatusExpireAfter @{ 404 = 60; 410 = '1.00:00:00' }
            $first = Invoke-CachedWebRequest -Uri $u -Session $s -SkipHttpErrorCheck
            $second = Invoke-CachedWebRequest -Uri $u -Session $s -SkipHttpErrorCheck
            "$($first.StatusCode) $($first.StoreReason) $($second.StatusCode) $($second.FromCache)"
            lifetime $second
            $s.StatusExpireAfter[410]
            """, ("u", url));

        Assert.Equal(["404 stored 404 True", "60", "1.00:00:00"], result.BaseOutput.Select(o => Convert.ToString(o, CultureInfo.InvariantCulture)));
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Theory]
    [InlineData("@{ 99 = 60 }", "InvalidSessionOption")]
    [InlineData("@{ 'x' = 60 }", "InvalidSessionOption")]
    [InlineData("@{ 404 = 'soon' }", "InvalidExpiration")]
    public async Task BadStatusExpireAfterIsAClearError(string rules, string errorId)
    {
        using var ps = PS.Open();
        var error = await ps.Fails($"New-HttpCacheSession -Backend Memory -StatusExpireAfter {rules}");

        Assert.Equal($"{errorId},{Cmdlet}", error.FullyQualifiedErrorId);
    }

    [Fact]
    public async Task TwoClocksAnExpiredEntryIsKeptWithATtlOffsetAndGoneWithoutOne()
    {
        var (_, url) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            # Fresh-until is now (ExpireImmediately); kept-until is fresh-until + TtlOffset. Seeing a kept entry leave
            # once its offset has passed needs a clock the test moves: InvalidationAndLifetimeTests (engine) does that.
            $kept = New-HttpCacheSession -Backend Memory -ExpireAfter ExpireImmediately -TtlOffset 3600
            $gone = New-HttpCacheSession -Backend Memory -ExpireAfter ExpireImmediately -TtlOffset 0
            $null = Invoke-CachedWebRequest -Uri $u -Session $kept
            $null = Invoke-CachedWebRequest -Uri $u -Session $gone
            $entries = @(Get-HttpCacheEntry -Session $kept)
            "$($entries.Count) $($entries[0].IsExpired)"
            @(Get-HttpCacheEntry -Session $gone).Count
            $kept.KeepExpiredFor
            (New-HttpCacheSession -Backend Memory).KeepExpiredFor -eq $null
            (New-HttpCacheSession -Backend Memory -KeepExpiredFor 90).KeepExpiredFor
            """, ("u", url));

        Assert.Equal(["1 True", "0", "01:00:00", "True", "00:01:30"], result.BaseOutput.Select(o => Convert.ToString(o, CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task ResetHttpCacheExpirationAppliesToStoredEntries()
    {
        var (path, url) = Map();
        var (otherPath, otherUrl) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok(Lifetime + """

            $s = New-HttpCacheSession -Backend Memory
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            $null = Invoke-CachedWebRequest -Uri $o -Session $s
            Get-HttpCacheEntry -Session $s -Uri $u | Reset-HttpCacheExpiration -ExpireAfter ExpireImmediately
            Get-HttpCacheEntry -Session $s -Uri $o | Reset-HttpCacheExpiration -ExpireAfter 120
            $r = Invoke-CachedWebRequest -Uri $u -Session $s
            "$($r.FromCache) $($r.Reason)"
            $e = Get-HttpCacheEntry -Session $s -Uri $o
            [int][math]::Round(($e.ExpiresAt - [datetime]::Now).TotalSeconds)
            (Invoke-CachedWebRequest -Uri $o -Session $s).FromCache
            """, ("u", url), ("o", otherUrl));

        Assert.Equal("False miss-expired", result.BaseOutput[0]);
        Assert.InRange(Convert.ToInt32(result.BaseOutput[1], CultureInfo.InvariantCulture), 110, 120);
        Assert.Equal(true, result.BaseOutput[2]);
        Assert.Equal(2, origin.RequestCount(path));
        Assert.Equal(1, origin.RequestCount(otherPath));
    }

    // ---- request and response directives ---------------------------------------------------------------

    [Theory]
    [InlineData("ExpireImmediately", "max-stale=60", "True stale-hit-max-stale", 1)]
    [InlineData("ExpireImmediately", "max-stale", "True stale-hit-max-stale", 1)]
    [InlineData("60", "no-cache", "False request-no-cache", 2)]
    [InlineData("60", "max-age=0", "False request-max-age", 2)]
    [InlineData("60", "min-fresh=120", "False request-min-fresh", 2)]
    [InlineData("60", "min-fresh=10", "True fresh-hit", 1)]
    [InlineData("60", "no-store", "False bypass-request-no-store", 2)]
    public async Task RequestDirectivesInHeaders(string sessionLifetime, string directive, string expected, int originRequests)
    {
        var (path, url) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -ExpireAfter $life
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            $r = Invoke-CachedWebRequest -Uri $u -Session $s -Headers @{ 'Cache-Control' = $directive }
            "$($r.FromCache) $($r.Reason)"
            """, ("life", sessionLifetime), ("u", url), ("directive", directive));

        Assert.Equal(expected, result.Single<string>());
        Assert.Equal(originRequests, origin.RequestCount(path));
    }

    [Fact]
    public async Task RequestOnlyIfCachedAndNoStore()
    {
        var (path, url) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $r = Invoke-CachedWebRequest -Uri $u -Session $s -Headers @{ 'Cache-Control' = 'only-if-cached' } -SkipHttpErrorCheck
            "$($r.StatusCode) $($r.Reason)"
            $r = Invoke-CachedWebRequest -Uri $u -Session $s -Headers @{ 'Cache-Control' = 'no-store' }
            "$($r.StatusCode) $($r.Reason)"
            @(Get-HttpCacheEntry -Session $s).Count
            """, ("u", url));

        Assert.Equal(["504 only-if-cached-miss", "200 bypass-request-no-store", "0"], result.BaseOutput.Select(o => Convert.ToString(o, CultureInfo.InvariantCulture)));
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Fact]
    public async Task ResponseNoCacheIsStoredButValidatedEveryUse()
    {
        var (path, url) = Map(OriginBehaviors.ETag("\"v1\"", new Dictionary<string, string> { ["Cache-Control"] = "no-cache" }));
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            1..3 | ForEach-Object { Invoke-CachedWebRequest -Uri $u -Session $s } | ForEach-Object { "$($_.Content) $($_.FromCache) $($_.Revalidated)" }
            """, ("u", url));

        Assert.Equal(["1 False False", "1 True True", "1 True True"], result.BaseOutput.Select(o => o.ToString()));
        Assert.Equal(3, origin.RequestCount(path));
        Assert.Equal("\"v1\"", origin.LastRequest(path)!.Header("If-None-Match"));
    }

    [Fact]
    public async Task AlwaysRevalidateRevalidatesEveryUseButImmutable()
    {
        var (plainPath, plainUrl) = Map(OriginBehaviors.ETag("\"a\"", new Dictionary<string, string> { ["Cache-Control"] = "max-age=600" }));
        var (immutablePath, immutableUrl) = Map(OriginBehaviors.ETag("\"b\"", new Dictionary<string, string> { ["Cache-Control"] = "max-age=600, immutable" }));
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -AlwaysRevalidate
            $null = Invoke-CachedWebRequest -Uri $plain -Session $s
            $null = Invoke-CachedWebRequest -Uri $immutable -Session $s
            $r = Invoke-CachedWebRequest -Uri $plain -Session $s
            "$($r.FromCache) $($r.Revalidated) $($r.Reason)"
            $r = Invoke-CachedWebRequest -Uri $immutable -Session $s
            "$($r.FromCache) $($r.Revalidated) $($r.Reason)"
            $s.AlwaysRevalidate
            """, ("plain", plainUrl), ("immutable", immutableUrl));

        Assert.Equal(["True True revalidated", "True False fresh-hit", "True"], result.BaseOutput.Select(o => o.ToString()));
        Assert.Equal(2, origin.RequestCount(plainPath));
        Assert.Equal(1, origin.RequestCount(immutablePath));
    }

    [Fact]
    public async Task HeuristicFreshnessIsOptIn()
    {
        var lastModified = DateTimeOffset.UtcNow.AddDays(-10);
        var (_, url) = Map(OriginBehaviors.LastModified(lastModified));
        using var ps = PS.Open();
        var result = await ps.Ok(Lifetime + """

            lifetime (Invoke-CachedWebRequest -Uri $u -Session (New-HttpCacheSession -Backend Memory -HeuristicFreshness))
            lifetime (Invoke-CachedWebRequest -Uri $u -Session (New-HttpCacheSession -Backend Memory))
            """, ("u", url));

        // 10% of the ten days since Last-Modified: about a day.
        Assert.InRange(Convert.ToInt32(result.BaseOutput[0], CultureInfo.InvariantCulture), 86_000, 86_500);
        Assert.Equal("never", result.BaseOutput[1]);
    }

    // ---- stale-if-error, stale-while-revalidate, coalescing --------------------------------------------

    [Theory]
    [InlineData("500", "$true")]
    [InlineData("500", "'01:00:00'")]
    [InlineData("drop", "$true")]
    [InlineData("drop", "3600")]
    public async Task StaleIfErrorServesTheExpiredEntryWhenTheOriginFails(string failure, string window)
    {
        var (path, url) = Map(FirstThen(OriginBehaviors.MaxAge(0), failure == "drop" ? OriginBehaviors.Drop() : OriginBehaviors.Status(500)));
        using var ps = PS.Open();
        var result = await ps.Ok($$"""
            $s = New-HttpCacheSession -Backend Memory -StaleIfError {{window}}
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            $r = Invoke-CachedWebRequest -Uri $u -Session $s
            "$($r.StatusCode) $($r.Content) $($r.FromCache) $($r.IsExpired) $($r.Reason)"
            """, ("u", url));

        Assert.Equal("200 1 True True stale-if-error", result.Single<string>());
        // A dropped connection may be retried once by the HTTP stack on a fresh connection.
        Assert.InRange(origin.RequestCount(path), 2, failure == "drop" ? 3 : 2);
    }

    [Fact]
    public async Task StaleIfErrorNeverPassesMustRevalidateNorAppliesWithoutTheOption()
    {
        var (mustPath, mustUrl) = Map(FirstThen(CounterWith("Cache-Control", "max-age=0, must-revalidate"), OriginBehaviors.Status(500)));
        var (plainPath, plainUrl) = Map(FirstThen(OriginBehaviors.MaxAge(0), OriginBehaviors.Status(500)));
        using var ps = PS.Open();
        var must = await ps.Fails("""
            $s = New-HttpCacheSession -Backend Memory -StaleIfError $true
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            Invoke-CachedWebRequest -Uri $u -Session $s
            """, ("u", mustUrl));
        var without = await ps.Fails("""
            $s = New-HttpCacheSession -Backend Memory -StaleIfError $false
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            Invoke-CachedWebRequest -Uri $u -Session $s
            """, ("u", plainUrl));

        Assert.Equal("WebCmdletWebResponseException,HttpCache.Commands.InvokeCachedWebRequestCommand", must.FullyQualifiedErrorId);
        Assert.Equal("WebCmdletWebResponseException,HttpCache.Commands.InvokeCachedWebRequestCommand", without.FullyQualifiedErrorId);
        Assert.Equal(2, origin.RequestCount(mustPath));
        Assert.Equal(2, origin.RequestCount(plainPath));
    }

    [Fact]
    public async Task StaleWhileRevalidateAnswersAtOnceAndRefreshesOnceInTheBackground()
    {
        // The first answer is stale at once; the refresh (fresh for ten minutes) is held at the origin until the
        // test lets it go, so the ten stale answers certainly came while it was still running: had any of them
        // waited for it, the first script would never end.
        var gate = new OriginGate();
        var (path, url) = Map(FirstThen(OriginBehaviors.MaxAge(0), gate.Hold(OriginBehaviors.MaxAge(600))));
        using var ps = PS.Open();
        var stale = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -StaleWhileRevalidate $true
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            1..10 | ForEach-Object { Invoke-CachedWebRequest -Uri $u -Session $s } | ForEach-Object { "$($_.Content) $($_.FromCache) $($_.IsExpired) $($_.Reason)" }
            """, ("u", url));
        await gate.WhenHeldAsync(1).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, gate.Arrived); // one refresh for ten stale answers

        gate.Release();
        var refreshed = await ps.Ok("""
            # The background refresh ends on its own once the origin answers; poll until its answer is stored.
            $deadline = [datetime]::Now.AddSeconds(20)
            do { $r = Invoke-CachedWebRequest -Uri $u -Session $s; if ($r.Content -ne '2') { [System.Threading.Thread]::Sleep(20) } }
            while ($r.Content -ne '2' -and [datetime]::Now -lt $deadline)
            "$($r.Content) $($r.FromCache) $($r.IsExpired) $($r.Reason)"
            """, ("u", url));

        var lines = stale.BaseOutput.Select(o => o.ToString()).ToArray();
        Assert.Equal(10, lines.Length);
        Assert.All(lines, line => Assert.Equal("1 True True stale-while-revalidate", line));
        Assert.Equal(["2 True False fresh-hit"], refreshed.BaseOutput.Select(o => o.ToString()));
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task ConcurrentIdenticalRequestsFromRunspacesAreCoalescedIntoOne()
    {
        // The origin holds the first request until every runspace has started its call (each signals first), so
        // the calls overlap the first one's trip to the origin instead of hoping a slow answer makes them.
        var gate = new OriginGate();
        var (path, url) = Map(gate.Hold(OriginBehaviors.Counter()));
        using var started = new CountdownEvent(6);
        using var ps = PS.Open();
        var run = ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $iss = [initialsessionstate]::CreateDefault2()
            $iss.ImportPSModule($manifest)
            $pool = [runspacefactory]::CreateRunspacePool(6, 6, $iss, $Host)
            $pool.Open()
            $jobs = 1..6 | ForEach-Object {
                $p = [powershell]::Create().AddScript({ param($s, $u, $started) $null = $started.Signal(); Invoke-CachedWebRequest -Uri $u -Session $s }).AddArgument($s).AddArgument($u).AddArgument($started)
                $p.RunspacePool = $pool
                [pscustomobject]@{ PowerShell = $p; Handle = $p.BeginInvoke() }
            }
            $answers = $jobs | ForEach-Object { $_.PowerShell.EndInvoke($_.Handle); $_.PowerShell.Dispose() }
            $pool.Dispose()
            $answers | ForEach-Object { "$($_.Content) $($_.Reason)" }
            """, ("u", url), ("manifest", RepoPaths.ModuleManifest), ("started", started));
        await gate.WhenHeldAsync(1).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(await Task.Run(() => started.Wait(TimeSpan.FromSeconds(60))), "the runspaces did not all start");
        Assert.Equal(1, gate.Arrived);
        gate.Release();
        var result = await run.WaitAsync(TimeSpan.FromSeconds(60));

        var answers = result.BaseOutput.Select(o => o.ToString()!).ToArray();
        Assert.Equal(6, answers.Length);
        Assert.All(answers, a => Assert.StartsWith("1 ", a, StringComparison.Ordinal));
        Assert.Single(answers, a => a == "1 miss-no-entry");
        Assert.Contains("1 coalesced", answers);
        Assert.Equal(1, origin.RequestCount(path));
    }

    [Theory]
    [InlineData("-StaleIfError 'soon'", "InvalidSessionOption")]
    [InlineData("-StaleWhileRevalidate ([datetime]::Now)", "InvalidSessionOption")]
    [InlineData("-StaleIfError DoNotCache", "InvalidSessionOption")]
    [InlineData("-MatchHeaders 42", "InvalidSessionOption")]
    [InlineData("-MatchHeaders 'Bad Header'", "InvalidSessionOption")]
    [InlineData("-IgnoredParameters ''", "InvalidSessionOption")]
    [InlineData("-Shared -Private", "InvalidSessionOption")]
    // A negative duration is refused while the argument is converted, as any bad duration is.
    [InlineData("-TtlOffset -5", "ParameterArgumentTransformationError")]
    public async Task BadSemanticOptionsAreClearErrors(string parameters, string errorId)
    {
        using var ps = PS.Open();
        var error = await ps.Fails($"New-HttpCacheSession -Backend Memory {parameters}");

        Assert.Equal($"{errorId},{Cmdlet}", error.FullyQualifiedErrorId);
    }

    [Fact]
    public async Task StaleWindowsAcceptTrueFalseAndDurations()
    {
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -StaleIfError $true -StaleWhileRevalidate 30
            $s.StaleIfError -eq [timespan]::MaxValue
            $s.StaleWhileRevalidate
            $s = New-HttpCacheSession -Backend Memory -StaleIfError $false -StaleWhileRevalidate 'PT1H'
            $null -eq $s.StaleIfError
            $s.StaleWhileRevalidate
            $null -eq (New-HttpCacheSession -Backend Memory).StaleIfError
            """);

        Assert.Equal(["True", "00:00:30", "True", "01:00:00", "True"], result.BaseOutput.Select(o => Convert.ToString(o, CultureInfo.InvariantCulture)));
    }

    // ---- keys and secrets ------------------------------------------------------------------------------

    [Fact]
    public async Task ExcludedParametersShareAnEntryAndAreRedactedWhereStored()
    {
        var (path, url) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory -ExcludeFromKey token, Session_Id
            $a = Invoke-CachedWebRequest -Uri "$u`?a=1&token=abc" -Session $s
            $b = Invoke-CachedWebRequest -Uri "$u`?TOKEN=xyz&a=1&session_id=9" -Session $s
            "$($a.FromCache) $($b.FromCache)"
            $a.CacheKey -eq $b.CacheKey
            (Get-HttpCacheEntry -Session $s).Uri
            # Only the names given are left out: api_key, a secret by default, is keyed.
            (Invoke-CachedWebRequest -Uri "$u`?api_key=1" -Session $s).FromCache
            (Invoke-CachedWebRequest -Uri "$u`?api_key=2" -Session $s).FromCache
            $s.ExcludeFromKey -join ','
            """, ("u", url));

        Assert.Equal("False True", result.BaseOutput[0]);
        Assert.Equal(true, result.BaseOutput[1]);
        var stored = (string)result.BaseOutput[2];
        Assert.Contains("token=REDACTED", stored, StringComparison.Ordinal);
        Assert.DoesNotContain("abc", stored, StringComparison.Ordinal);
        Assert.Equal([false, false], result.BaseOutput.Skip(3).Take(2));
        Assert.Equal("Session_Id,token", result.BaseOutput[5]);
        Assert.Equal(3, origin.RequestCount(path));
    }

    [Fact]
    public async Task MatchHeadersNamesOrAll()
    {
        var (namedPath, namedUrl) = Map();
        var (allPath, allUrl) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $named = New-HttpCacheSession -Backend Memory -MatchHeaders Accept-Language
            'en', 'fr', 'en' | ForEach-Object { (Invoke-CachedWebRequest -Uri $n -Session $named -Headers @{ 'Accept-Language' = $_; 'X-Other' = [guid]::NewGuid() }).FromCache }
            $all = New-HttpCacheSession -Backend Memory -MatchHeaders $true
            'a', 'b', 'a' | ForEach-Object { (Invoke-CachedWebRequest -Uri $a -Session $all -Headers @{ 'X-Tenant' = $_ }).FromCache }
            $named.MatchHeaders
            $all.MatchHeaders
            """, ("n", namedUrl), ("a", allUrl));

        Assert.Equal([false, false, true, false, false, true, "Accept-Language", "*"], result.BaseOutput);
        Assert.Equal(2, origin.RequestCount(namedPath));
        Assert.Equal(2, origin.RequestCount(allPath));
    }

    [Fact]
    public async Task CredentialsNeverCross()
    {
        var (path, url) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $alice = @{ Authorization = 'Bearer alice' }
            $bob = @{ Authorization = 'Bearer bob' }
            (Invoke-CachedWebRequest -Uri $u -Session $s -Headers $alice).Content
            (Invoke-CachedWebRequest -Uri $u -Session $s -Headers $bob).Content
            (Invoke-CachedWebRequest -Uri $u -Session $s -Headers $alice).Content
            (Invoke-CachedWebRequest -Uri $u -Session $s).Content
            (Invoke-CachedWebRequest -Uri $u -Session $s -Headers @{ Cookie = 'id=1' }).Content
            @(Get-HttpCacheEntry -Session $s).Count
            """, ("u", url));

        Assert.Equal(["1", "2", "1", "3", "4", 4], result.BaseOutput);
        Assert.Equal(4, origin.RequestCount(path));
    }

    [Fact]
    public async Task SharedSessionsDoNotStorePrivateOrAuthorizedAnswers()
    {
        var (privatePath, privateUrl) = Map(CounterWith("Cache-Control", "private, max-age=60"));
        var (publicPath, publicUrl) = Map(CounterWith("Cache-Control", "public, max-age=60"));
        var (plainPath, plainUrl) = Map(OriginBehaviors.MaxAge(60));
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $shared = New-HttpCacheSession -Backend Memory -Shared
            $private = New-HttpCacheSession -Backend Memory
            (Invoke-CachedWebRequest -Uri $priv -Session $shared).StoreReason
            (Invoke-CachedWebRequest -Uri $priv -Session $private).StoreReason
            (Invoke-CachedWebRequest -Uri $pub -Session $shared -Headers @{ Authorization = 'Bearer a' }).StoreReason
            (Invoke-CachedWebRequest -Uri $plain -Session $shared -Headers @{ Authorization = 'Bearer a' }).StoreReason
            (Invoke-CachedWebRequest -Uri $plain -Session $private -Headers @{ Authorization = 'Bearer a' }).StoreReason
            "$($shared.Shared) $($private.Shared)"
            """, ("priv", privateUrl), ("pub", publicUrl), ("plain", plainUrl));

        Assert.Equal(
            ["not-storable-private", "stored", "stored", "not-storable-authorization", "stored", "True False"],
            result.BaseOutput.Select(o => o.ToString()));
        Assert.Equal(2, origin.RequestCount(privatePath));
        Assert.Equal(1, origin.RequestCount(publicPath));
        Assert.Equal(2, origin.RequestCount(plainPath));
    }

    [Fact]
    public async Task AlwaysCacheStoresNoStoreAnswers()
    {
        var (path, url) = Map(OriginBehaviors.NoStore());
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $plain = New-HttpCacheSession -Backend Memory
            $always = New-HttpCacheSession -Backend Memory -AlwaysCache
            (Invoke-CachedWebRequest -Uri $u -Session $plain).StoreReason
            (Invoke-CachedWebRequest -Uri $u -Session $always).StoreReason
            $r = Invoke-CachedWebRequest -Uri $u -Session $always
            "$($r.FromCache) $($r.Content) $($always.AlwaysCache)"
            """, ("u", url));

        Assert.Equal(["not-storable-no-store", "stored", "True 2 True"], result.BaseOutput.Select(o => o.ToString()));
        Assert.Equal(2, origin.RequestCount(path));
    }

    // ---- Vary, invalidation ----------------------------------------------------------------------------

    [Fact]
    public async Task VaryKeepsTwoVariantsAndRemovingTheUrlRemovesBoth()
    {
        var (path, url) = Map(CounterWith("Vary", "Accept-Language"));
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            'en', 'fr', 'en', 'fr' | ForEach-Object { (Invoke-CachedWebRequest -Uri $u -Session $s -Headers @{ 'Accept-Language' = $_ }).Content }
            $entries = @(Get-HttpCacheEntry -Session $s -Uri $u)
            $entries.Count
            $entries[0].PrimaryKey -eq $entries[1].PrimaryKey
            Remove-HttpCacheEntry -Session $s -Uri $u
            @(Get-HttpCacheEntry -Session $s).Count
            """, ("u", url));

        Assert.Equal(["1", "2", "1", "2", 2, true, 0], result.BaseOutput);
        Assert.Equal(2, origin.RequestCount(path));
    }

    [Fact]
    public async Task ASuccessfulPostInvalidatesTheStoredGet()
    {
        var (path, url) = Map();
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $null = Invoke-CachedWebRequest -Uri $u -Session $s
            (Invoke-CachedWebRequest -Uri $u -Session $s).FromCache
            (Invoke-CachedWebRequest -Uri $u -Session $s -Method POST -Body 'x').StoreReason
            $r = Invoke-CachedWebRequest -Uri $u -Session $s
            "$($r.FromCache) $($r.Reason) $($r.Content)"
            """, ("u", url));

        Assert.Equal([true, "invalidated", "False miss-no-entry 3"], result.BaseOutput);
        Assert.Equal(3, origin.RequestCount(path));
    }

    // ---- the session object ----------------------------------------------------------------------------

    [Fact]
    public async Task TheSessionShowsTheSettingsThatMatter()
    {
        using var ps = PS.Open();
        var session = (await ps.Ok("""
            New-HttpCacheSession -Backend Memory -ExpireAfter 300 -StaleIfError 600 -Shared -MaxSize 1MB -MaxEntries 100 `
                -UrlExpireAfter ([ordered]@{ 'example.com/api/' = 60 }) -HeuristicFreshness
            """)).Output.Single();

        Assert.Equal("00:05:00", session.Prop<string>("ExpireAfter"));
        Assert.True(session.Prop<bool>("Shared"));
        Assert.Equal(TimeSpan.FromMinutes(10), session.Prop<TimeSpan?>("StaleIfError"));
        Assert.Null(session.Prop<TimeSpan?>("StaleWhileRevalidate"));
        Assert.Equal(1024L * 1024, session.Prop<long?>("MaxSize"));
        Assert.Equal(100L, session.Prop<long?>("MaxEntries"));
        Assert.Equal(["example.com/api/ = 00:01:00"], session.Prop<string[]>("UrlExpireAfter"));
        Assert.True(session.Prop<bool>("HeuristicFreshness"));
        Assert.Null(session.Prop<object?>("RedisConnection"));
        Assert.Equal(0L, session.Prop<long>("ScriptErrors"));
        Assert.Contains("Authorization", session.Prop<string[]>("IgnoredParameters"));
    }
}
