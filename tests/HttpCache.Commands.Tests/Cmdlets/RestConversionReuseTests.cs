using System.Text;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// Invoke-CachedRestMethod keeps the JSON it converted from a stored body and gives later answers of the same bytes
/// a copy: every answer must still be objects of its own, equal to a fresh conversion, and a new body must never be
/// answered with the old one's objects.
/// </summary>
public sealed class RestConversionReuseTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    [Fact]
    public async Task EveryHitGetsObjectsOfItsOwn()
    {
        var path = origin.NewPath();
        origin.Map(path, async context =>
        {
            context.Response.ContentType = "application/json";
            context.Response.Headers.CacheControl = "max-age=3600";
            await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes("""{"n":1,"inner":{"s":"a"},"list":[1,{"x":2}],"when":"2020-01-01T00:00:00Z","big":99999999999999999999}"""));
        });
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $first = Invoke-CachedRestMethod -Uri $u -Session $s -ResponseVariable answer
            $second = Invoke-CachedRestMethod -Uri $u -Session $s
            $first.inner.s = 'changed'; $first.list[1].x = 99; $first.n = 7
            $third = Invoke-CachedRestMethod -Uri $u -Session $s
            $fresh = [Microsoft.PowerShell.Commands.JsonObject]::ConvertFromJson($answer.Content, [ref]$null)
            foreach ($r in $second, $third) { $r.n; $r.inner.s; $r.list[1].x; $r.when.GetType().Name; $r.big.GetType().Name }
            ($third | ConvertTo-Json -Compress -Depth 5) -eq ($fresh | ConvertTo-Json -Compress -Depth 5)
            [object]::ReferenceEquals($second.inner, $third.inner)
            $answer.CacheKey
            """, ("u", origin.Url(path).AbsoluteUri));

        var output = result.BaseOutput.Select(o => o.ToString()!).ToArray();
        string[] each = ["1", "a", "2", "DateTime", "BigInteger"];
        Assert.Equal([.. each, .. each, "True", "False"], output[..^1]);
        Assert.True((bool)ModuleInternals.Call("HttpCache.Commands.RestContent", "HasConverted", output[^1])!, "the conversion was not kept for reuse");
    }

    [Fact]
    public async Task ANewBodyUnderTheSameKeyIsConvertedAfresh()
    {
        var path = origin.NewPath();
        var served = 0;
        origin.Map(path, async context =>
        {
            var n = Interlocked.Increment(ref served);
            context.Response.ContentType = "application/json";
            context.Response.Headers.CacheControl = "max-age=3600";
            await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes($$"""{"version":{{n}}}"""));
        });
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            (Invoke-CachedRestMethod -Uri $u -Session $s).version
            (Invoke-CachedRestMethod -Uri $u -Session $s).version
            (Invoke-CachedRestMethod -Uri $u -Session $s -ForceRefresh).version
            (Invoke-CachedRestMethod -Uri $u -Session $s).version
            """, ("u", origin.Url(path).AbsoluteUri));

        Assert.Equal(["1", "1", "2", "2"], result.BaseOutput.Select(o => o.ToString()));
    }
}
