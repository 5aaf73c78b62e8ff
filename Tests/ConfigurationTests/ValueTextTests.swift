import Configuration
import Testing

@Suite("Durations and sizes")
struct ValueTextTests {
    @Test("durations", arguments: [
        ("500ms", Int64(500)), ("1s", 1000), ("5m", 300_000), ("1h", 3_600_000), ("7d", 604_800_000),
        ("0ms", 0), ("90s", 90_000), (" 2 h ", 7_200_000), ("30d", 2_592_000_000),
    ])
    func duration(text: String, milliseconds: Int64) {
        #expect(ConfigurationValueText.duration(text) == .milliseconds(milliseconds))
    }

    @Test("not durations", arguments: ["", "5", "ms", "1.5s", "-1s", "5M", "1 week", "5x", "1h30m", "99999999999999999999d", "9223372036854775807d"])
    func notDuration(text: String) {
        #expect(ConfigurationValueText.duration(text) == nil)
    }

    @Test("sizes (binary units)", arguments: [
        ("512MB", Int64(512) << 20), ("1GB", 1 << 30), ("64KB", 65_536), ("1048576", 1_048_576), ("100B", 100),
        ("2TB", 2 << 40), ("3mib", 3 << 20), ("1 GiB", 1 << 30), ("0", 0),
    ])
    func size(text: String, bytes: Int64) {
        #expect(ConfigurationValueText.byteCount(text) == bytes)
    }

    @Test("not sizes", arguments: ["", "MB", "1.5GB", "-1MB", "12 apples", "10PB", "9999999999TB"])
    func notSize(text: String) {
        #expect(ConfigurationValueText.byteCount(text) == nil)
    }

    @Test("durations and sizes print back the way the file writes them")
    func roundTrip() {
        for text in ["500ms", "1s", "90s", "5m", "1h", "7d", "1500ms", "0s"] {
            let duration = ConfigurationValueText.duration(text)
            #expect(duration.map(ConfigurationValueText.text(of:)) == text)
        }
        for text in ["512MB", "1GB", "64KB", "100B", "1025B"] {
            let bytes = ConfigurationValueText.byteCount(text)
            #expect(bytes.map(ConfigurationValueText.text(ofByteCount:)) == text)
        }
    }
}
