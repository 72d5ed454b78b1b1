using System.Text;
using HttpCache.Commands.Tests.Infrastructure;
using HttpCache.Testing;

namespace HttpCache.Commands.Tests.Cmdlets;

/// <summary>
/// A reused JSON conversion is built again from the shape kept of the first one (property names and values, read once):
/// every shape JSON takes comes back as a fresh conversion would give it, in its own objects and arrays.
/// </summary>
public sealed class RestConversionShapeTests(OriginFixture fixture) : IClassFixture<OriginFixture>
{
    private readonly TestOrigin origin = fixture.Origin;

    [Fact]
    public async Task ArraysOfArraysEmptyObjectsAndPropertyOrderComeBackAsAFreshConversion()
    {
        var path = origin.NewPath();
        origin.Map(path, async context =>
        {
            context.Response.ContentType = "application/json";
            context.Response.Headers.CacheControl = "max-age=3600";
            await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(
                """[[1,[2,"b"]],{"z":{},"a":[],"m":null,"Mixed":[{"k":true},[{"deep":1.5}]]},"text",7]"""));
        });
        using var ps = PS.Open();
        var result = await ps.Ok("""
            $s = New-HttpCacheSession -Backend Memory
            $first = @(Invoke-CachedRestMethod -Uri $u -Session $s -ResponseVariable answer)
            $second = @(Invoke-CachedRestMethod -Uri $u -Session $s)
            $second[1].Mixed[1][0].deep = 99
            $third = @(Invoke-CachedRestMethod -Uri $u -Session $s)
            $fresh = @([Microsoft.PowerShell.Commands.JsonObject]::ConvertFromJson($answer.Content, [ref]$null))
            ($third | ConvertTo-Json -Compress -Depth 10) -eq ($fresh | ConvertTo-Json -Compress -Depth 10)
            ($third[1].psobject.Properties.Name -join ',')
            $third[1].Mixed[1][0].deep
            [object]::ReferenceEquals($second[0], $third[0])
            [object]::ReferenceEquals($second[1].z, $third[1].z)
            $third[1].z.GetType().FullName
            $third.Count
            """, ("u", origin.Url(path).AbsoluteUri));

        Assert.Equal(
            ["True", "z,a,m,Mixed", "1.5", "False", "False", "System.Management.Automation.PSCustomObject", "4"],
            result.BaseOutput.Select(o => o.ToString()!));
    }
}
