// The gRPC inference protocol's tensors: raw and typed contents decode to
// the tensors the HTTP protocol makes, and every malformed input gets an
// INVALID_ARGUMENT naming it and what was expected.
#include "grpc_inference/grpc_tensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "status_testing.h"

namespace cairn::grpc_inference {
namespace {

using ::cairn::testing::StatusIs;
using serving::DataType;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string RawFloats(const std::vector<float>& values) {
  std::string raw(values.size() * sizeof(float), '\0');
  std::memcpy(raw.data(), values.data(), raw.size());
  return raw;
}

inference::ModelInferRequest OneInput(const std::string& datatype, std::vector<int64_t> shape) {
  inference::ModelInferRequest request;
  request.set_model_name("m");
  auto* in = request.add_inputs();
  in->set_name("x");
  in->set_datatype(datatype);
  for (int64_t d : shape) in->add_shape(d);
  return request;
}

TEST(DecodeInferRequest, RawContentsBecomeTheInputsPackedElements) {
  inference::ModelInferRequest request = OneInput("FP32", {2, 2});
  request.add_raw_input_contents(RawFloats({1, 2, 3, 4}));
  auto* words = request.add_inputs();
  words->set_name("w");
  words->set_datatype("BYTES");
  words->add_shape(2);
  request.add_raw_input_contents(std::string("\x02\0\0\0hi\x00\0\0\0", 10));
  ASSERT_OK_AND_ASSIGN(DecodedInferRequest decoded, DecodeInferRequest(request));
  ASSERT_EQ(decoded.inputs.size(), 2u);
  EXPECT_EQ(decoded.inputs[0].datatype, DataType::kFp32);
  EXPECT_THAT(decoded.inputs[0].shape, ElementsAre(2, 2));
  EXPECT_EQ(decoded.inputs[0].data, RawFloats({1, 2, 3, 4}));
  EXPECT_THAT(decoded.inputs[1].bytes, ElementsAre("hi", ""));
  EXPECT_FALSE(decoded.explain);
}

TEST(DecodeInferRequest, TypedContentsInTheFieldOfTheirDatatype) {
  inference::ModelInferRequest request = OneInput("INT16", {3});
  for (int v : {-5, 0, 300}) request.mutable_inputs(0)->mutable_contents()->add_int_contents(v);
  ASSERT_OK_AND_ASSIGN(DecodedInferRequest decoded, DecodeInferRequest(request));
  const std::string& data = decoded.inputs[0].data;
  ASSERT_EQ(data.size(), 6u);
  int16_t values[3];
  std::memcpy(values, data.data(), 6);
  EXPECT_THAT(values, ElementsAre(-5, 0, 300));

  inference::ModelInferRequest floats = OneInput("FP32", {1, 2});
  floats.mutable_inputs(0)->mutable_contents()->add_fp32_contents(0.5f);
  floats.mutable_inputs(0)->mutable_contents()->add_fp32_contents(-1.25f);
  ASSERT_OK_AND_ASSIGN(decoded, DecodeInferRequest(floats));
  EXPECT_EQ(decoded.inputs[0].data, RawFloats({0.5f, -1.25f}));

  inference::ModelInferRequest flags = OneInput("BOOL", {2});
  flags.mutable_inputs(0)->mutable_contents()->add_bool_contents(true);
  flags.mutable_inputs(0)->mutable_contents()->add_bool_contents(false);
  ASSERT_OK_AND_ASSIGN(decoded, DecodeInferRequest(flags));
  EXPECT_EQ(decoded.inputs[0].data, std::string("\x01\x00", 2));
}

TEST(DecodeInferRequest, EachMalformedInputIsNamedWithWhatWasExpected) {
  struct Case {
    const char* why;
    inference::ModelInferRequest request;
    const char* message;
  };
  std::vector<Case> cases;
  cases.push_back({"no inputs", inference::ModelInferRequest(), "at least one input"});
  {
    auto r = OneInput("FP32", {2});
    r.add_raw_input_contents(RawFloats({1, 2}));
    r.add_raw_input_contents(RawFloats({3}));
    cases.push_back({"raw count", r, "raw_input_contents has 2 entries for 1 inputs"});
  }
  {
    auto r = OneInput("FP32", {2});
    r.add_raw_input_contents(RawFloats({1}));
    cases.push_back({"raw short", r, "input 'x': shape [2] holds 2 elements, data has 1"});
  }
  {
    auto r = OneInput("FP32", {1});
    r.mutable_inputs(0)->mutable_contents()->add_fp32_contents(1);
    r.add_raw_input_contents(RawFloats({1}));
    cases.push_back({"both forms", r, "use one or the other"});
  }
  {
    auto r = OneInput("INT64", {1});
    r.mutable_inputs(0)->mutable_contents()->add_fp32_contents(1);
    cases.push_back({"wrong field", r,
                     "takes its elements in contents.int64_contents, not "
                     "fp32_contents"});
  }
  {
    auto r = OneInput("INT8", {1});
    r.mutable_inputs(0)->mutable_contents()->add_int_contents(200);
    cases.push_back({"out of range", r, "inputs[0] 'x': element 0 is 200, outside INT8"});
  }
  {
    auto r = OneInput("UINT8", {1});
    r.mutable_inputs(0)->mutable_contents()->add_uint_contents(256);
    cases.push_back({"unsigned out of range", r, "element 0 is 256, outside UINT8"});
  }
  {
    auto r = OneInput("FP16", {1});
    cases.push_back({"fp16 typed", r, "FP16 has no typed contents; send it in raw_input_contents"});
  }
  {
    auto r = OneInput("FLOAT", {1});
    cases.push_back({"datatype", r, "inputs[0] 'x'.datatype: 'FLOAT' is not one of"});
  }
  {
    auto r = OneInput("FP32", {1});
    r.mutable_inputs(0)->set_name("");
    cases.push_back({"name", r, "inputs[0].name: a name is required"});
  }
  {
    auto r = OneInput("FP32", {-1});
    cases.push_back({"negative dimension", r, "negative or too large dimension"});
  }
  {
    auto r = OneInput("FP32", {int64_t{1} << 62, 8});
    cases.push_back({"overflowing shape", r, "negative or too large dimension"});
  }
  {
    auto r = OneInput("BYTES", {1});
    r.add_raw_input_contents(std::string("\x09\0\0\0abc", 7));
    cases.push_back({"cut BYTES", r, "a BYTES element of 9 bytes exceeds the 3 left"});
  }
  {
    auto r = OneInput("FP32", {1});
    r.mutable_inputs(0)->mutable_contents()->add_fp32_contents(1);
    (*r.mutable_parameters())["explain"].set_string_param("yes");
    cases.push_back({"explain kind", r, "parameters.explain must be bool_param"});
  }
  for (const Case& c : cases) {
    EXPECT_THAT(DecodeInferRequest(c.request),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr(c.message)))
        << c.why;
  }
}

TEST(DecodeInferRequest, ExplainAndRequestedOutputsAreRead) {
  inference::ModelInferRequest request = OneInput("FP32", {1});
  request.mutable_inputs(0)->mutable_contents()->add_fp32_contents(1);
  (*request.mutable_parameters())["pred_contribs"].set_bool_param(true);
  request.add_outputs()->set_name("b");
  ASSERT_OK_AND_ASSIGN(DecodedInferRequest decoded, DecodeInferRequest(request));
  EXPECT_TRUE(decoded.explain);
  EXPECT_THAT(decoded.outputs, ElementsAre("b"));
}

TEST(EncodeInferResponse, OutputsTravelAsRawContentsInTheOrderAsked) {
  std::vector<serving::Tensor> outputs = {serving::Fp32Tensor("a", {2}, {1, 2}),
                                          serving::Fp32Tensor("b", {1}, {3})};
  serving::Tensor words;
  words.name = "w";
  words.datatype = DataType::kBytes;
  words.shape = {1};
  words.bytes = {"ok"};
  outputs.push_back(words);
  inference::ModelInferResponse all;
  ASSERT_OK(EncodeInferResponse(outputs, {}, &all));
  ASSERT_EQ(all.outputs_size(), 3);
  EXPECT_EQ(all.outputs(0).name(), "a");
  EXPECT_EQ(all.outputs(0).datatype(), "FP32");
  EXPECT_THAT(all.outputs(0).shape(), ElementsAre(2));
  EXPECT_EQ(all.raw_output_contents(0), RawFloats({1, 2}));
  EXPECT_EQ(all.raw_output_contents(2), std::string("\x02\0\0\0ok", 6));

  inference::ModelInferResponse chosen;
  ASSERT_OK(EncodeInferResponse(outputs, {"b", "a"}, &chosen));
  ASSERT_EQ(chosen.outputs_size(), 2);
  EXPECT_EQ(chosen.outputs(0).name(), "b");
  EXPECT_EQ(chosen.raw_output_contents(1), RawFloats({1, 2}));

  inference::ModelInferResponse unknown;
  EXPECT_THAT(
      EncodeInferResponse(outputs, {"c"}, &unknown),
      StatusIs(StatusCode::kInvalidArgument,
               HasSubstr("requested output 'c' is not one of this model's: 'a', 'b', 'w'")));
}

}  // namespace
}  // namespace cairn::grpc_inference
