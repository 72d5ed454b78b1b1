using System.Security.Cryptography;
using System.Text;

namespace HttpCache.Engine.Storage.FileSystem;

/// <summary>
/// How keys become file names. A key never becomes a path: the engine's keys (lower-case hex groups joined by
/// single dots) are used as they are, so a user can find an entry's files by its key; any other key is
/// replaced by an underscore and a SHA-256 prefix of it. Neither form holds a separator, starts with a dot or
/// ends with one, or spells a reserved Windows device name, and the two cannot collide (hex never starts with '_').
/// </summary>
internal static class FileSystemNames
{
    /// <summary>The longest key used verbatim; file names stay far below every file system's 255.</summary>
    public const int MaxVerbatimLength = 128;

    private const int HashedHexLength = 32;

    /// <summary>The file name stem of a key (or a primary key, for its variants folder).</summary>
    public static string Of(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (IsVerbatim(key))
        {
            return key;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        return "_" + Convert.ToHexString(hash[..(HashedHexLength / 2)]).ToLowerInvariant();
    }

    /// <summary>True for a stem this store could have made; anything else found on disk is not ours.</summary>
    public static bool IsName(string name) =>
        IsVerbatim(name)
        || (name.Length == HashedHexLength + 1 && name[0] == '_' && name.AsSpan(1).IndexOfAnyExcept("0123456789abcdef") < 0);

    /// <summary>The shard (0–255) a stem lives in: its first two hex digits.</summary>
    public static int ShardOf(string name)
    {
        var offset = name[0] == '_' ? 1 : 0;
        return (HexValue(name[offset]) << 4) | HexValue(name[offset + 1]);
    }

    /// <summary>The shard folder's name: two lower-case hex digits.</summary>
    public static string ShardName(int shard) => shard.ToString("x2", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The shard a folder name denotes, or -1 when the folder is not a shard.</summary>
    public static int ParseShard(string folderName) =>
        folderName.Length == 2 && IsHex(folderName[0]) && IsHex(folderName[1])
            ? (HexValue(folderName[0]) << 4) | HexValue(folderName[1])
            : -1;

    // Two hex digits first (the shard), then hex digits in groups separated by single dots, no trailing dot.
    private static bool IsVerbatim(string key)
    {
        if (key.Length < 2 || key.Length > MaxVerbatimLength || !IsHex(key[0]) || !IsHex(key[1]) || key[^1] == '.')
        {
            return false;
        }

        for (var i = 2; i < key.Length; i++)
        {
            var c = key[i];
            if (c == '.' ? key[i - 1] == '.' : !IsHex(c))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsHex(char c) => c is (>= '0' and <= '9') or (>= 'a' and <= 'f');

    private static int HexValue(char c) => c <= '9' ? c - '0' : c - 'a' + 10;
}
