/// Scratch for int8 scoring (filled in by the quantized network).
final class QuantizedWorkspaceStorage {
    func contributions(count: Int) -> [Float] { [] }
}
