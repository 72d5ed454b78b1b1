using System.Globalization;
using System.Management.Automation;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;
using Microsoft.AspNetCore.Http;

namespace HttpCache.Commands.Tests.Cmdlets;

public sealed partial class SessionSemanticsTests
{
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
