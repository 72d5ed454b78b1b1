using System.Management.Automation;
using HttpCache.Engine.Policy;

namespace HttpCache.Commands;

/// <summary>
/// Turns what a user gives to any <c>-ExpireAfter</c> into the engine's <see cref="Expiration"/>, through the
/// engine's own parser, so every cmdlet accepts the same forms: seconds (300), '00:05:00', a TimeSpan, a
/// DateTime, an ISO 8601 duration, 'NeverExpire', 'ExpireImmediately', 'DoNotCache'. Anything else fails
/// parameter binding with the engine's message, which lists those forms.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
internal sealed class ExpirationTransformationAttribute : ArgumentTransformationAttribute
{
    /// <inheritdoc />
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        if (Expiration.TryParse(value, out var expiration, out var error))
        {
            return expiration;
        }

        throw new ArgumentTransformationMetadataException(error);
    }
}

/// <summary>
/// Reads <c>-OlderThan</c>: a TimeSpan, a duration string ('1.00:00:00', '02:00:00', 'P1D') or a number of
/// seconds, as -ExpireAfter counts them (PowerShell alone would read 3600 as 3600 ticks).
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
internal sealed class DurationTransformationAttribute : ArgumentTransformationAttribute
{
    /// <inheritdoc />
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        if (value is TimeSpan span)
        {
            return span;
        }

        if (value is not DateTime and not DateTimeOffset
            && Expiration.TryParse(value, out var expiration, out _)
            && expiration.Kind is ExpirationKind.After or ExpirationKind.ExpireImmediately)
        {
            return expiration.Kind == ExpirationKind.After ? expiration.Duration : TimeSpan.Zero;
        }

        throw new ArgumentTransformationMetadataException(
            $"'{value}' is not a duration. Use a TimeSpan, a duration such as '1.00:00:00' (one day) or '02:00:00', an ISO 8601 duration ('P1D'), or a number of seconds.");
    }
}
